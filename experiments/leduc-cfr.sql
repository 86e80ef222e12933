-- Study 10 CFR curves (experiments/leduc-cfr.toml): exploitability of the average policy in
-- chips per hand (exact best response, mean over the two seats) after 100, 500, 1,000 and 2,000
-- iterations, and how many of the 100 evaluations (every 20 iterations) rose above the one
-- before.
--   assay query --file experiments/leduc-cfr.sql --format md
WITH m AS (
  SELECT r."solver.algorithm" AS algorithm, r."solver.keying" AS keying, m.step, m.value,
         lag(m.value) OVER (PARTITION BY m.run_id ORDER BY m.step) AS previous
  FROM metrics m JOIN runs r ON m.run_id = r.id
  WHERE r.run_name = 'leduc-cfr' AND r.status = 'completed' AND m.name = 'exploitability'
)
SELECT algorithm, keying,
       round(max(CASE WHEN step = 100 THEN value END), 4) AS after_100,
       round(max(CASE WHEN step = 500 THEN value END), 4) AS after_500,
       round(max(CASE WHEN step = 1000 THEN value END), 4) AS after_1000,
       round(max(CASE WHEN step = 2000 THEN value END), 4) AS after_2000,
       sum(CASE WHEN value > previous THEN 1 ELSE 0 END) AS rises
FROM m GROUP BY algorithm, keying ORDER BY algorithm, keying
