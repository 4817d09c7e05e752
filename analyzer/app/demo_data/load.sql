-- Rows generated server-side. {users}, {products} and {orders} are filled in by the demo;
-- order_items gets three rows per order. Items come first so each order's total is known
-- when the order row is written (no second pass over orders, no dead rows).
SELECT setseed(0.42);

INSERT INTO users (email, name, country, created_at)
SELECT CASE WHEN g % 7 = 0 THEN 'User' || g || '@Example.com'
            ELSE 'user' || g || '@example.com' END,
       'User ' || g,
       (ARRAY['DE', 'FR', 'US', 'GB', 'NL', 'ES', 'IT', 'PL'])[1 + g % 8],
       now() - interval '3 years' * random()
  FROM generate_series(1, {users}) AS g;

INSERT INTO products (sku, name, category, price)
SELECT 'SKU-' || lpad(g::text, 6, '0'),
       'Product ' || g,
       (ARRAY['books', 'games', 'garden', 'kitchen', 'music', 'sports', 'tools', 'toys'])
         [1 + g % 8],
       round((2 + random() * 198)::numeric, 2)
  FROM generate_series(1, {products}) AS g;

INSERT INTO order_items (order_id, product_id, quantity, unit_price)
SELECT o, 1 + floor(random() * {products})::int, 1 + floor(random() * 4)::int,
       round((2 + random() * 198)::numeric, 2)
  FROM generate_series(1, {orders}) AS o, generate_series(1, 3) AS i;

-- Recent orders are more frequent (created_at skews towards now); 3% are still pending.
INSERT INTO orders (id, user_id, status, total, created_at)
SELECT t.order_id,
       1 + floor(random() * {users})::int,
       CASE WHEN r < 0.03 THEN 'pending' WHEN r < 0.08 THEN 'shipped'
            WHEN r < 0.10 THEN 'cancelled' ELSE 'delivered' END,
       t.total,
       now() - interval '2 years' * power(random(), 2)
  FROM (SELECT order_id, sum(quantity * unit_price) AS total, random() AS r
          FROM order_items GROUP BY order_id ORDER BY order_id) AS t;
