-- Keys and indexes, good and bad.

-- Healthy: primary keys everywhere, a unique SKU, indexed foreign keys (orders.user_id below,
-- order_items.product_id).
ALTER TABLE users ADD PRIMARY KEY (id);
ALTER TABLE products ADD PRIMARY KEY (id);
ALTER TABLE orders ADD PRIMARY KEY (id);
ALTER TABLE order_items ADD PRIMARY KEY (id);
ALTER TABLE products ADD CONSTRAINT products_sku_key UNIQUE (sku);
CREATE INDEX order_items_product_id_idx ON order_items (product_id);

-- Problem: unique on email, but the application looks users up by lower(email).
ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE (email);

-- Problem: the same index twice. The ORM's migration created ix_orders_user_id; later someone
-- added orders_user_id_idx by hand without noticing.
CREATE INDEX ix_orders_user_id ON orders (user_id);
CREATE INDEX orders_user_id_idx ON orders (user_id);

-- Problem: an index nothing reads (the dashboard that used it is gone), written on every order.
CREATE INDEX orders_total_idx ON orders (total);

-- Foreign keys. order_items.order_id has no index although every order page filters on it.
ALTER TABLE orders ADD CONSTRAINT orders_user_id_fkey
    FOREIGN KEY (user_id) REFERENCES users (id);
ALTER TABLE order_items ADD CONSTRAINT order_items_order_id_fkey
    FOREIGN KEY (order_id) REFERENCES orders (id);
ALTER TABLE order_items ADD CONSTRAINT order_items_product_id_fkey
    FOREIGN KEY (product_id) REFERENCES products (id);

-- Problem: orders.id is an int4 serial that has used 98% of its range.
SELECT setval('orders_id_seq', 2100000000);
