-- Study 10 figure: exploitability (chips per hand, log axis) of the average policy against CFR
-- iterations, per algorithm and information-set keying.
-- plot-args: --title "Study 10: CFR on Leduc Hold'em (rlcard rules)" --logx --logy --x-label iteration --y-label "exploitability (chips per hand)"
--   (experiments/reproduce.sh leduc-cfr draws experiments/figures/leduc-cfr.png with them)
SELECT m.step AS x, r."solver.algorithm" || ' / ' || r."solver.keying" AS series, m.value AS y
FROM metrics m JOIN runs r ON m.run_id = r.id
WHERE r.run_name = 'leduc-cfr' AND r.status = 'completed' AND m.name = 'exploitability'
ORDER BY series, x
