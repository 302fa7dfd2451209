from creditflow.cli import app

app(prog_name="creditflow")
