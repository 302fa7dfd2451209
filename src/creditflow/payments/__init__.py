"""Payment providers behind one interface: `test` now; Stripe, Paddle and Creem plug in later."""
