-- Study 10 round robin (experiments/leduc.toml): per pairing, the first agent's chips per hand
-- against the second over 5,000 duplicate deals (10,000 hands), with the 95 % interval over
-- deals. Policies are named by the solver run they come from.
--   assay query --file experiments/leduc.sql --format md
WITH r AS (
  SELECT id, "agent.0.plugin" AS p0, "agent.0.from" AS f0, "agent.1.plugin" AS p1,
         "agent.1.from" AS f1
  FROM runs WHERE run_name = 'leduc-round-robin' AND status = 'completed'
),
names AS (SELECT 'run:' || id AS ref, run_name FROM runs),
labelled AS (
  SELECT r.id,
         CASE WHEN n0.run_name IS NULL THEN r.p0 ELSE replace(n0.run_name, 'leduc-policy-', 'cfr-') END AS agent,
         CASE WHEN n1.run_name IS NULL THEN r.p1 ELSE replace(n1.run_name, 'leduc-policy-', 'cfr-') END AS opponent
  FROM r LEFT JOIN names n0 ON n0.ref = r.f0 LEFT JOIN names n1 ON n1.ref = r.f1
)
SELECT l.agent, l.opponent, a.deals, round(a.mean_return, 3) AS chips_per_hand,
       round(a.ci95_lo, 3) AS ci95_lo, round(a.ci95_hi, 3) AS ci95_hi
FROM agent_results a JOIN labelled l ON a.run_id = l.id
WHERE a.agent_index = 0
ORDER BY l.agent, l.opponent
