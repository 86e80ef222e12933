-- Study 1 on real data: final test accuracy of the digits MLP per learning rate and optimizer,
-- mean and standard deviation over seeds.
--   assay query --file experiments/adopt-digits.sql --format md
SELECT r."optimizer.lr" AS lr, r."optimizer.plugin" AS optimizer,
       round(avg(f.value), 4) AS test_acc, round(stddev(f.value), 4) AS std, count(*) AS seeds
FROM final_metrics f JOIN runs r ON f.run_id = r.id
WHERE f.name = 'test/acc' AND r.name = 'adopt-digits'
GROUP BY 1, 2 ORDER BY 1, 2
