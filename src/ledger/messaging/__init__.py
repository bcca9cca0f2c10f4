"""Messages leaving Ledger: sealed content, the provider client, the sender worker, letters
as PDF, the address index for inbound opt-outs, and a fake provider for tests and the demo."""
