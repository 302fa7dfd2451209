"""Mail to customers: templates, transports, and the outbox that makes delivery survive crashes."""
