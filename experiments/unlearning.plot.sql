-- Study 3 figure, the logit-lens curves: for the in-domain forget queries, per block, the mean
-- rank (of 148 words, log axis) of the truth and of `forgot` under the lens, stage B (LoRA,
-- trained to forget in context) against its stage-A baseline, mean over seeds.
-- plot-args: --title "Study 3: logit lens on forget queries" --logy --x-label block --y-label "mean rank (of 148 words)"
--   (experiments/reproduce.sh unlearning draws experiments/figures/unlearning.png with them)
WITH b AS (
  SELECT id, replace("init.from", 'run:', '') AS source
  FROM runs WHERE run_name = 'unlearning' AND status = 'completed'
),
stages AS (
  SELECT 'B' AS stage, id AS run_id FROM b
  UNION ALL
  SELECT 'A' AS stage, r.id AS run_id FROM runs r JOIN b ON r.id = b.source
)
SELECT l.layer AS x,
       CASE WHEN s.stage = 'B' THEN 'B unlearning: ' ELSE 'A baseline: ' END || 'truth' AS series,
       avg(l.rank_gold) AS y
FROM unlearning_lens l JOIN stages s ON l.run_id = s.run_id
WHERE l.set = 'people'
GROUP BY s.stage, l.layer
UNION ALL
SELECT l.layer AS x,
       CASE WHEN s.stage = 'B' THEN 'B unlearning: ' ELSE 'A baseline: ' END || 'forgot' AS series,
       avg(l.rank_forgot) AS y
FROM unlearning_lens l JOIN stages s ON l.run_id = s.run_id
WHERE l.set = 'people'
GROUP BY s.stage, l.layer
ORDER BY series, x
