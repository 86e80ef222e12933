-- Study 4 result table: per digit-count pair (n x m) of held-out products, the number of
-- problems; first-digit accuracy against the best constant guess (the pair's most frequent first
-- digit); the mean MC-dropout confidence in the first digit, and in the last digit after the
-- model's own greedy higher-order digits and after the gold ones; last-digit accuracies; and, on
-- the problems whose own prefix is wrong, the mean gain conf_last_gold - conf_last_own with its
-- bootstrap 95 % interval (the notes' criterion: >= 0.10 with lo > 0 on 4x4 and 5x5).
--   assay query --file experiments/multiplication.sql --format md
SELECT s.n, s.m, s.problems,
       round(s.first_acc, 3) AS first_acc, round(s.constant_acc, 3) AS constant_acc,
       round(s.conf_first, 3) AS conf_first,
       round(s.conf_last_own, 3) AS conf_last_own, round(s.conf_last_gold, 3) AS conf_last_gold,
       round(s.last_own_acc, 3) AS last_own_acc, round(s.last_gold_acc, 3) AS last_gold_acc,
       s.wrong_prefix,
       round(s.gain_wrong_prefix, 3) AS gain, round(s.gain_wrong_prefix_lo, 3) AS gain_lo,
       round(s.gain_wrong_prefix_hi, 3) AS gain_hi
FROM digit_confidence_summary s JOIN runs r ON s.run_id = r.id
WHERE r.name = 'multiplication'
ORDER BY s.n, s.m
