-- Study 4 figure: per number of digits n of both factors (the n x n products), the mean
-- MC-dropout confidence in the first digit, in the last digit after the model's own greedy
-- higher digits and after the gold ones, each with its bootstrap 95 % interval as a band.
-- plot-args: --title "Study 4: MC-dropout confidence by digit" --x-label "digits per factor (n x n)" --y-label "mean confidence"
--   (experiments/reproduce.sh multiplication draws experiments/figures/multiplication.png with them)
WITH s AS (
  SELECT d.* FROM digit_confidence_summary d JOIN runs r ON d.run_id = r.id
  WHERE r.name = 'multiplication' AND d.n = d.m
)
SELECT n AS x, 'first digit' AS series, conf_first AS y, conf_first_lo AS lo, conf_first_hi AS hi FROM s
UNION ALL
SELECT n AS x, 'last digit, own prefix' AS series, conf_last_own AS y, conf_last_own_lo AS lo,
       conf_last_own_hi AS hi FROM s
UNION ALL
SELECT n AS x, 'last digit, gold prefix' AS series, conf_last_gold AS y, conf_last_gold_lo AS lo,
       conf_last_gold_hi AS hi FROM s
ORDER BY series, x
