-- A login by e-mail, then the customer's account: customers.email has no index, so every
-- login reads the whole table.
\set aid random(1, 100000 * :scale)
SELECT id FROM customers WHERE email = 'user' || :aid || '@example.com';
SELECT abalance FROM pgbench_accounts WHERE aid = :aid;
