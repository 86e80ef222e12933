-- Study 9 figure: success on embodiment C against the number of embodiments the policy was
-- trained on (1: C's 15 demonstrations; 3: the A+B+C mixture), on C's tasks and on the task
-- only A demonstrated; mean over 3 seeds, the band from the worst to the best seed.
-- plot-args: --title "Study 9: one policy for three robots, evaluated on C" --x-label "embodiments in the training data" --y-label "success rate on C (50 episodes)"
--   (experiments/reproduce.sh cross-embodiment draws experiments/figures/cross-embodiment.png)
WITH r AS (
  SELECT r.id, CASE WHEN s.run_name LIKE '%-mix' THEN 3 ELSE 1 END AS x,
         CASE WHEN r."environment.tasks" LIKE '%"reach the blue cube"]' THEN 'held-out: reach blue'
              ELSE 'C''s 5 tasks' END AS series
  FROM runs r JOIN runs s ON 'run:' || s.id = r."agent.0.from"
  WHERE r.run_name = 'cross-embodiment' AND r.status = 'completed'
)
SELECT r.x, r.series, avg(a.mean_return) AS y, min(a.mean_return) AS lo, max(a.mean_return) AS hi
FROM r JOIN agent_results a ON a.run_id = r.id
GROUP BY r.x, r.series
ORDER BY r.series, r.x
