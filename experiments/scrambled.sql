-- Study 7 result table, in the layout of the paper's tables: one row per measure and method,
-- one column per condition. RR: the corpus-level Recovery Rate (%) of the held-out sentences
-- (ScrRec); acc: ScrQA-mini accuracy (%); RPG: the Relative Performance Gain (%) against the
-- substituted context. Recoverers: identity, the anagram-dictionary solver, the decoder
-- trained here, the oracle; readers: raw and canonical tokens, and raw tokens after recovery
-- by the anagram solver or the decoder.
--   assay query --file experiments/scrambled.sql --format md
WITH rr AS (
  SELECT s.recoverer AS method, s.condition AS condition, s.rr AS value, s.sentences AS n
  FROM scramble_recovery s JOIN runs r ON s.run_id = r.id
  WHERE r.name = 'scrambled'
),
qa AS (
  SELECT q.reader AS method, q.condition AS condition, q.accuracy * 100 AS acc,
         q.rpg * 100 AS rpg, q.items AS n
  FROM scrambled_qa q JOIN runs r ON q.run_id = r.id
  WHERE r.name = 'scrambled'
),
rows AS (
  SELECT 'RR' AS measure, method, condition, value, n FROM rr
  UNION ALL
  SELECT 'acc' AS measure, method, condition, acc AS value, n FROM qa
  UNION ALL
  SELECT 'RPG' AS measure, method, condition, rpg AS value, n FROM qa
)
SELECT measure, method, max(n) AS n,
       round(max(CASE WHEN condition = 'original' THEN value END), 1) AS "original",
       round(max(CASE WHEN condition = 'RS-20%' THEN value END), 1) AS "RS-20%",
       round(max(CASE WHEN condition = 'RS-50%' THEN value END), 1) AS "RS-50%",
       round(max(CASE WHEN condition = 'RS-100%' THEN value END), 1) AS "RS-100%",
       round(max(CASE WHEN condition = 'KF' THEN value END), 1) AS "KF",
       round(max(CASE WHEN condition = 'KFL' THEN value END), 1) AS "KFL",
       round(max(CASE WHEN condition = 'Sub' THEN value END), 1) AS "Sub"
FROM rows
GROUP BY measure, method
ORDER BY CASE measure WHEN 'RR' THEN 0 WHEN 'acc' THEN 1 ELSE 2 END,
         CASE method WHEN 'identity' THEN 0 WHEN 'raw' THEN 0 WHEN 'canonical' THEN 1
                     WHEN 'anagram' THEN 2 WHEN 'decoder' THEN 3 ELSE 4 END
