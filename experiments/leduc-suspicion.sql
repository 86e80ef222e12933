-- Study 10, the language agent (experiments/leduc-suspicion.toml) against the 100-iteration
-- CFR: per backend and theory-of-mind mode, chips per hand with the 95 % interval over deals,
-- faults, the text-model exchanges per decision, decisions that needed a re-prompt, and
-- fallbacks (no legal action named after every retry).
--   assay query --file experiments/leduc-suspicion.sql --format md
WITH r AS (
  SELECT id, "agent.0.backend" AS backend, "agent.0.mode" AS mode
  FROM runs WHERE run_name = 'leduc-suspicion' AND status = 'completed'
),
x AS (
  SELECT run_id, count(*) AS exchanges,
         sum(CASE WHEN module = 'decision' THEN 1 ELSE 0 END) AS decisions,
         sum(CASE WHEN module = 'decision_retry' THEN 1 ELSE 0 END) AS retries,
         sum(CASE WHEN module = 'fallback' THEN 1 ELSE 0 END) AS fallbacks
  FROM agent_exchanges GROUP BY run_id
)
SELECT r.backend, r.mode, a.episodes AS hands, round(a.mean_return, 3) AS chips_per_hand,
       round(a.ci95_lo, 3) AS ci95_lo, round(a.ci95_hi, 3) AS ci95_hi, a.faults,
       x.decisions, round(x.exchanges / x.decisions, 1) AS exchanges_per_decision,
       x.retries, x.fallbacks
FROM agent_results a JOIN r ON a.run_id = r.id JOIN x ON x.run_id = r.id
WHERE a.agent_index = 0
ORDER BY r.backend, r.mode
