-- Study 2 result table: per pre-training corpus and task, over seeds and examples, the
-- exact-match accuracy, format-following rate and multiple-choice accuracy with 95 % normal
-- confidence intervals (p ± 1.96 √(p(1−p)/n)), the chance level, and the final held-out loss.
--   assay query --file experiments/code-vs-prose.sql --format md
WITH r AS (
  SELECT f.task, r.run_name AS corpus, f.exact_match, f.follows_format, f.mc_correct, f.answer
  FROM few_shot f JOIN runs r ON f.run_id = r.id
  WHERE r.run_name LIKE 'code-%' OR r.run_name LIKE 'prose-%' OR r.run_name LIKE 'ast-%'
),
agg AS (
  SELECT corpus, task, count(*) AS n,
         avg(CAST(exact_match AS DOUBLE)) AS em,
         avg(CAST(follows_format AS DOUBLE)) AS fmt,
         avg(CAST(mc_correct AS DOUBLE)) AS mc
  FROM r GROUP BY corpus, task
)
SELECT corpus, task, n,
       round(em, 3) AS exact_match, round(1.96 * sqrt(em * (1 - em) / n), 3) AS em_ci,
       round(fmt, 3) AS format_rate, round(1.96 * sqrt(fmt * (1 - fmt) / n), 3) AS format_ci,
       round(mc, 3) AS mc_accuracy, round(1.96 * sqrt(mc * (1 - mc) / n), 3) AS mc_ci
FROM agg ORDER BY task, corpus
