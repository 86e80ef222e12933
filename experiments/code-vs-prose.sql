-- Study 2 result table: per task and pre-training corpus (the run name), pooled over seeds and
-- examples: the chance level, the exact-match accuracy, format-following rate and
-- multiple-choice accuracy with 95 % normal intervals (p ± 1.96 √(p(1−p)/n)), and the final
-- held-out loss (nats per byte) of the corpus's models, mean and sd over seeds.
--   assay query --file experiments/code-vs-prose.sql --format md
WITH ex AS (
  SELECT f.task, r.run_name AS corpus, f.exact_match, f.follows_format, f.mc_correct
  FROM few_shot f JOIN runs r ON f.run_id = r.id
  WHERE r.run_name IN ('code-python', 'code-c', 'prose-english')
),
agg AS (
  SELECT corpus, task, count(*) AS n,
         avg(CAST(exact_match AS DOUBLE)) AS em,
         avg(CAST(follows_format AS DOUBLE)) AS fmt,
         avg(CAST(mc_correct AS DOUBLE)) AS mc
  FROM ex GROUP BY corpus, task
),
chance AS (
  SELECT r.run_name AS corpus, replace(replace(f.name, 'few_shot/', ''), '/chance', '') AS task,
         avg(f.value) AS chance
  FROM final_metrics f JOIN runs r ON f.run_id = r.id
  WHERE r.run_name IN ('code-python', 'code-c', 'prose-english') AND f.name LIKE 'few_shot/%/chance'
  GROUP BY 1, 2
),
loss AS (
  SELECT r.run_name AS corpus, avg(f.value) AS test_loss, stddev(f.value) AS test_loss_sd
  FROM final_metrics f JOIN runs r ON f.run_id = r.id
  WHERE r.run_name IN ('code-python', 'code-c', 'prose-english') AND f.name = 'test/loss'
  GROUP BY 1
),
with_chance AS (
  SELECT agg.corpus, agg.task, agg.n, agg.em, agg.fmt, agg.mc, c.chance
  FROM agg JOIN chance c ON c.corpus = agg.corpus AND c.task = agg.task
),
cells AS (
  SELECT w.corpus, w.task, w.n, w.em, w.fmt, w.mc, w.chance, l.test_loss, l.test_loss_sd
  FROM with_chance w JOIN loss l ON l.corpus = w.corpus
)
SELECT task, round(chance, 2) AS chance, corpus, n,
       round(em, 3) AS exact_match, round(1.96 * sqrt(em * (1 - em) / n), 3) AS em_ci,
       round(fmt, 3) AS format_rate, round(1.96 * sqrt(fmt * (1 - fmt) / n), 3) AS format_ci,
       round(mc, 3) AS mc_accuracy, round(1.96 * sqrt(mc * (1 - mc) / n), 3) AS mc_ci,
       round(test_loss, 2) AS test_loss, round(test_loss_sd, 2) AS test_loss_sd
FROM cells
ORDER BY task, corpus
