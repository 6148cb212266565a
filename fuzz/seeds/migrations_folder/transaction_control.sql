-- no-transaction
CREATE INDEX CONCURRENTLY i ON t (x);
BEGIN; COMMIT AND CHAIN;
$$ unterminated