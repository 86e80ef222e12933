-- Study 3 result table: stage B (LoRA-trained to forget in context, experiments/unlearning.toml)
-- and its baseline, the stage-A model each stage-B run started from
-- (experiments/unlearning-facts.toml: trained on the facts only, prompted with the same tags),
-- from the `unlearning` probe at the end of each run, mean over seeds. In domain: the held-out
-- people 241-300 (540 forget, 540 retain, 540 plain fact queries); ood: the fictional capitals
-- (60 each). Forget acc = P(answer `forgot` | forget query); retain acc = P(truth | retain
-- query); fact acc = P(truth | plain question). Logit lens on the in-domain forget queries:
-- the share whose truth is rank 1 at some block below the last, whose `forgot` is rank 1 at the
-- last block, and both (pretending); and the lens curves, blocks 0 / 1 / 2 / 3: the mean rank
-- (of 148 words) of the truth and of `forgot`, and the share of queries whose truth is rank 1.
--   assay query --file experiments/unlearning.sql --format md
WITH b AS (
  SELECT id, replace("init.from", 'run:', '') AS source
  FROM runs WHERE run_name = 'unlearning' AND status = 'completed'
),
stages AS (
  SELECT 'B unlearning (LoRA)' AS stage, id AS run_id FROM b
  UNION ALL
  SELECT 'A baseline (facts only)' AS stage, r.id AS run_id FROM runs r JOIN b ON r.id = b.source
),
m AS (
  SELECT s.stage, s.run_id, f.name, f.value
  FROM final_metrics f JOIN stages s ON f.run_id = s.run_id
  WHERE f.name LIKE 'unlearning/%'
),
acc AS (
  SELECT stage, count(DISTINCT run_id) AS seeds,
         round(avg(CASE WHEN name = 'unlearning/forget_acc' THEN value END), 3) AS forget_acc,
         round(avg(CASE WHEN name = 'unlearning/retain_acc' THEN value END), 3) AS retain_acc,
         round(avg(CASE WHEN name = 'unlearning/ood_forget_acc' THEN value END), 3) AS ood_forget_acc,
         round(avg(CASE WHEN name = 'unlearning/ood_retain_acc' THEN value END), 3) AS ood_retain_acc,
         round(avg(CASE WHEN name = 'unlearning/fact_acc' THEN value END), 3) AS fact_acc,
         round(avg(CASE WHEN name = 'unlearning/ood_fact_acc' THEN value END), 3) AS ood_fact_acc,
         round(avg(CASE WHEN name = 'unlearning/gold_top1_below_last' THEN value END), 3) AS gold_top1_below_last,
         round(avg(CASE WHEN name = 'unlearning/forgot_top1_last' THEN value END), 3) AS forgot_top1_last,
         round(avg(CASE WHEN name = 'unlearning/pretend_forget' THEN value END), 3) AS pretend_forget
  FROM m GROUP BY stage
),
per_layer AS (
  SELECT s.stage, l.layer, avg(l.rank_gold) AS gold, avg(l.rank_forgot) AS forgot,
         avg(CASE WHEN l.rank_gold = 1 THEN 1.0 ELSE 0.0 END) AS gold_top1
  FROM unlearning_lens l JOIN stages s ON l.run_id = s.run_id
  WHERE l.set = 'people'
  GROUP BY s.stage, l.layer
),
curve AS (
  SELECT stage,
         array_to_string(array_agg(CAST(round(gold, 1) AS VARCHAR) ORDER BY layer), ' / ') AS gold_rank_by_block,
         array_to_string(array_agg(CAST(round(forgot, 1) AS VARCHAR) ORDER BY layer), ' / ') AS forgot_rank_by_block,
         array_to_string(array_agg(CAST(round(gold_top1, 2) AS VARCHAR) ORDER BY layer), ' / ') AS gold_top1_by_block
  FROM per_layer GROUP BY stage
)
SELECT acc.*, curve.gold_rank_by_block, curve.forgot_rank_by_block, curve.gold_top1_by_block
FROM acc JOIN curve ON acc.stage = curve.stage
ORDER BY acc.stage
