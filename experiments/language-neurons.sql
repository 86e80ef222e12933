-- Study 5 result table, per language (in the spec's order): the best unit's average precision
-- as a detector of the language (positives: its 500 held-out sentences; negatives: the other
-- languages' 2,500), the mean overlap of its top-50 set with the other languages' (shared /
-- 50), the share of its 100 selected units (top-50 + bottom-50) in the first or last block
-- (reported only), and the share of 100 unconditional samples (64 bytes from BOS, temperature
-- 0.8) identified as the language: unforced (none), with its 100 units forced to their median
-- response on its sentences (forced), with 100 random units forced to theirs (random), the
-- gains over none; then the dose response: forced and random shares with 20, 500 and 2,000
-- units (top-k + bottom-k, k = 10, 250, 1000; 4,608 units in all).
--   assay query --file experiments/language-neurons.sql --format md
WITH main AS (
  SELECT s.position, s.language, s.best_ap, s.top_overlap, s.edge_layers, s.share_none,
         s.share_forced, s.share_random, s.gain_forced, s.gain_random
  FROM lang_summary s JOIN runs r ON s.run_id = r.id
  WHERE r.run_name = 'language-neurons'
),
dose AS (
  SELECT d.language,
         max(CASE WHEN d.units = 20 THEN d.share_forced END) AS f20,
         max(CASE WHEN d.units = 20 THEN d.share_random END) AS r20,
         max(CASE WHEN d.units = 500 THEN d.share_forced END) AS f500,
         max(CASE WHEN d.units = 500 THEN d.share_random END) AS r500,
         max(CASE WHEN d.units = 2000 THEN d.share_forced END) AS f2000,
         max(CASE WHEN d.units = 2000 THEN d.share_random END) AS r2000
  FROM lang_dose d JOIN runs r ON d.run_id = r.id
  WHERE r.run_name = 'language-neurons'
  GROUP BY d.language
)
SELECT m.language, round(m.best_ap, 3) AS best_ap, round(m.top_overlap, 3) AS top_overlap,
       round(m.edge_layers, 2) AS first_last, round(m.share_none, 2) AS none,
       round(m.share_forced, 2) AS forced, round(m.share_random, 2) AS random,
       round(m.gain_forced, 2) AS gain_forced, round(m.gain_random, 2) AS gain_random,
       round(d.f20, 2) AS f20, round(d.r20, 2) AS r20, round(d.f500, 2) AS f500,
       round(d.r500, 2) AS r500, round(d.f2000, 2) AS f2000, round(d.r2000, 2) AS r2000
FROM main m LEFT JOIN dose d ON d.language = m.language
ORDER BY m.position
