//! SQL made safe for Polars before it runs: join conditions that Polars' SQL layer gets wrong are
//! rewritten into an equivalent form, and those it cannot run are refused with a message that
//! says how to write them.
//!
//! Measured against DuckDB on the same Parquet files (`tests/sql_shapes.rs`), Polars 0.55:
//!
//! - returns **no rows** for an inner join whose `ON` holds a condition on one table only
//!   (`JOIN metrics f ON f.run_id = r.id AND f.name = 'test/acc'`), and fails on two such
//!   conditions (`... AND f.step = 100`); in an inner join such a condition is a filter, so it
//!   moves to `WHERE`, where Polars is right;
//! - refuses an `ON` in parentheses (`ON (f.run_id = r.id)`); the parentheses go;
//! - returns no rows for a `LEFT JOIN` whose `ON` holds conditions on the right table only
//!   (`LEFT JOIN final_metrics f ON f.run_id = r.id AND f.name = 'test/acc' AND f.step > 100`);
//!   such conditions filter the right table before the join, so the right table becomes
//!   `(SELECT * FROM final_metrics f WHERE ...) f`;
//! - counts wrongly for a `FULL JOIN` with a condition on one table; that is refused;
//! - cannot run `OR` between join conditions, nor `SEMI` or `ANTI` joins with `ON`; these are
//!   refused, naming the way around them (`WHERE ... IN (SELECT ...)`).
//!
//! Where a `RIGHT` or `FULL` join follows, an inner join's one-table condition cannot move to
//! `WHERE` (it would drop the rows the outer join keeps), and the query is refused with the
//! filter-first form to use instead.

use std::collections::BTreeSet;
use std::ops::ControlFlow;

use sqlparser::ast::{
    BinaryOperator, Expr, Ident, Join, JoinConstraint, JoinOperator, Select, Statement, TableAlias,
    TableFactor, VisitMut, VisitorMut,
};
use sqlparser::dialect::GenericDialect;
use sqlparser::parser::Parser;

/// A query the SQL layer would answer wrongly, refused.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Refused(String);

/// `sql` as Polars should run it: unchanged when nothing needs rewriting or when it does not
/// parse (Polars then reports the syntax error itself), rewritten when a join condition needs it.
pub fn prepare(sql: &str) -> Result<String, Refused> {
    let Ok(mut statements) = Parser::parse_sql(&GenericDialect {}, sql) else {
        return Ok(sql.to_string());
    };
    let mut rewriter = Rewriter { changed: false };
    if let ControlFlow::Break(refusal) = statements.visit(&mut rewriter) {
        return Err(refusal);
    }
    if !rewriter.changed {
        return Ok(sql.to_string());
    }
    Ok(statements
        .iter()
        .map(Statement::to_string)
        .collect::<Vec<_>>()
        .join(";\n"))
}

struct Rewriter {
    changed: bool,
}

impl VisitorMut for Rewriter {
    type Break = Refused;

    fn pre_visit_select(&mut self, select: &mut Select) -> ControlFlow<Refused> {
        let mut filters = Vec::new();
        for from in &mut select.from {
            let outer_follows: Vec<bool> = (0..from.joins.len())
                .map(|i| from.joins[i + 1..].iter().any(keeps_unmatched_right))
                .collect();
            for (join, outer_follows) in from.joins.iter_mut().zip(outer_follows) {
                match rewrite_join(join, outer_follows) {
                    Ok(Some(moved)) => {
                        self.changed = true;
                        filters.extend(moved);
                    }
                    Ok(None) => {}
                    Err(refusal) => return ControlFlow::Break(refusal),
                }
                if unwrap_parentheses(join) {
                    self.changed = true;
                }
            }
        }
        if !filters.is_empty() {
            if let Some(existing) = select.selection.take() {
                filters.push(nested(existing));
            }
            select.selection = conjunction(filters);
        }
        ControlFlow::Continue(())
    }
}

/// A join that keeps right rows without a match (so a later `WHERE` sees their nulls).
fn keeps_unmatched_right(join: &Join) -> bool {
    matches!(
        join.join_operator,
        JoinOperator::Right(_) | JoinOperator::RightOuter(_) | JoinOperator::FullOuter(_)
    )
}

fn constraint_mut(op: &mut JoinOperator) -> Option<&mut JoinConstraint> {
    match op {
        JoinOperator::Join(c)
        | JoinOperator::Inner(c)
        | JoinOperator::Left(c)
        | JoinOperator::LeftOuter(c)
        | JoinOperator::Right(c)
        | JoinOperator::RightOuter(c)
        | JoinOperator::FullOuter(c)
        | JoinOperator::Semi(c)
        | JoinOperator::LeftSemi(c)
        | JoinOperator::RightSemi(c)
        | JoinOperator::Anti(c)
        | JoinOperator::LeftAnti(c)
        | JoinOperator::RightAnti(c) => Some(c),
        _ => None,
    }
}

/// Removes parentheses around a whole `ON` condition; whether anything changed.
fn unwrap_parentheses(join: &mut Join) -> bool {
    let Some(JoinConstraint::On(on)) = constraint_mut(&mut join.join_operator) else {
        return false;
    };
    let mut changed = false;
    while let Expr::Nested(inner) = on {
        *on = (**inner).clone();
        changed = true;
    }
    changed
}

/// For an inner join, takes the conditions on at most one table out of its `ON` and returns them
/// (to become filters); refuses `OR` between join conditions and moves that would change the
/// result.
fn rewrite_join(join: &mut Join, outer_follows: bool) -> Result<Option<Vec<Expr>>, Refused> {
    let inner = matches!(
        join.join_operator,
        JoinOperator::Join(_) | JoinOperator::Inner(_)
    );
    let semi_or_anti = matches!(
        join.join_operator,
        JoinOperator::Semi(_)
            | JoinOperator::LeftSemi(_)
            | JoinOperator::RightSemi(_)
            | JoinOperator::Anti(_)
            | JoinOperator::LeftAnti(_)
            | JoinOperator::RightAnti(_)
    );
    let Some(JoinConstraint::On(on)) = constraint_mut(&mut join.join_operator) else {
        return Ok(None);
    };
    let parts = conjuncts(on);
    if let Some(or) = parts
        .iter()
        .find(|e| contains_or(e) && tables(e).len() >= 2)
    {
        return Err(Refused(format!(
            "`{or}` in a JOIN's ON clause: OR between join conditions is not supported; join on the keys and put the alternative in WHERE, or UNION two joins"
        )));
    }
    if semi_or_anti {
        return Err(Refused(format!(
            "SEMI and ANTI joins with ON (`{on}`) are not supported; write WHERE r.id IN (SELECT run_id FROM ... WHERE ...), or NOT IN for an anti join"
        )));
    }
    if !inner {
        return filter_right_first(join).map(|changed| changed.then(Vec::new));
    }
    let (keys, filters): (Vec<Expr>, Vec<Expr>) = parts.into_iter().partition(is_join_key);
    if filters.is_empty() {
        return Ok(None);
    }
    if keys.is_empty() {
        let shown: Vec<String> = filters.iter().map(ToString::to_string).collect();
        return Err(Refused(format!(
            "the JOIN's ON clause `{}` relates no column of one table to a column of the other; join on a key (`f.run_id = r.id`) and put the rest in WHERE",
            shown.join(" AND ")
        )));
    }
    if outer_follows {
        let shown: Vec<String> = filters.iter().map(ToString::to_string).collect();
        return Err(Refused(format!(
            "`{}` in an inner JOIN's ON clause, with a RIGHT or FULL join after it: filter that table first instead, e.g. JOIN (SELECT * FROM metrics WHERE name = 'test/acc') f ON f.run_id = r.id",
            shown.join(" AND ")
        )));
    }
    *on = conjunction(keys)
        .unwrap_or_else(|| Expr::Value(sqlparser::ast::Value::Boolean(true).into()));
    Ok(Some(filters.into_iter().map(nested).collect()))
}

/// The name a joined relation is known by: its alias, else its table name.
fn relation_name(relation: &TableFactor) -> Option<String> {
    match relation {
        TableFactor::Table { alias: Some(a), .. } | TableFactor::Derived { alias: Some(a), .. } => {
            Some(a.name.value.to_lowercase())
        }
        TableFactor::Table { name, .. } => name.0.last().map(|p| p.to_string().to_lowercase()),
        _ => None,
    }
}

/// In a `LEFT JOIN`, moves the `ON` conditions on the right table alone into a filtered derived
/// table; in a `FULL JOIN`, refuses them.
fn filter_right_first(join: &mut Join) -> Result<bool, Refused> {
    let left = matches!(
        join.join_operator,
        JoinOperator::Left(_) | JoinOperator::LeftOuter(_)
    );
    let full = matches!(join.join_operator, JoinOperator::FullOuter(_));
    if !left && !full {
        return Ok(false);
    }
    let Some(name) = relation_name(&join.relation) else {
        return Ok(false);
    };
    let Some(JoinConstraint::On(on)) = constraint_mut(&mut join.join_operator) else {
        return Ok(false);
    };
    let parts = conjuncts(on);
    let one_table = |e: &Expr| !is_join_key(e) && !tables(e).is_empty();
    if full {
        if let Some(e) = parts.iter().find(|e| one_table(e)) {
            return Err(Refused(format!(
                "`{e}` in a FULL JOIN's ON clause: conditions on one table are not supported there; filter that table first in a subquery, e.g. FULL JOIN (SELECT * FROM final_metrics WHERE name = 'theta') f ON f.run_id = r.id"
            )));
        }
        return Ok(false);
    }
    let (right_only, rest): (Vec<Expr>, Vec<Expr>) = parts
        .into_iter()
        .partition(|e| one_table(e) && tables(e) == BTreeSet::from([name.clone()]));
    if right_only.is_empty() {
        return Ok(false);
    }
    let Some(keys) = conjunction(rest) else {
        return Err(Refused(format!(
            "the LEFT JOIN's ON clause relates no column of `{name}` to the other table; join on a key (`f.run_id = r.id`)"
        )));
    };
    let filter = conjunction(right_only.into_iter().map(nested).collect()).expect("not empty");
    let text = format!("SELECT * FROM {} WHERE {filter}", join.relation);
    let subquery = Parser::new(&GenericDialect {})
        .try_with_sql(&text)
        .and_then(|mut p| p.parse_query())
        .map_err(|e| Refused(format!("rewriting the LEFT JOIN as `{text}`: {e}")))?;
    *on = keys;
    join.relation = TableFactor::Derived {
        lateral: false,
        subquery,
        alias: Some(TableAlias {
            explicit: false,
            name: Ident::new(name),
            columns: Vec::new(),
            at: None,
        }),
        sample: None,
    };
    Ok(true)
}

/// The `AND`-separated parts of a condition, parentheses around them removed.
fn conjuncts(e: &Expr) -> Vec<Expr> {
    match e {
        Expr::BinaryOp {
            left,
            op: BinaryOperator::And,
            right,
        } => {
            let mut out = conjuncts(left);
            out.extend(conjuncts(right));
            out
        }
        Expr::Nested(inner) => conjuncts(inner),
        other => vec![other.clone()],
    }
}

fn conjunction(mut parts: Vec<Expr>) -> Option<Expr> {
    let first = if parts.is_empty() {
        return None;
    } else {
        parts.remove(0)
    };
    Some(parts.into_iter().fold(first, |acc, e| Expr::BinaryOp {
        left: Box::new(acc),
        op: BinaryOperator::And,
        right: Box::new(e),
    }))
}

fn nested(e: Expr) -> Expr {
    match e {
        e @ (Expr::Nested(_) | Expr::Identifier(_) | Expr::CompoundIdentifier(_)) => e,
        e => Expr::Nested(Box::new(e)),
    }
}

fn contains_or(e: &Expr) -> bool {
    let mut found = false;
    let _ = sqlparser::ast::visit_expressions(e, |x| {
        if matches!(
            x,
            Expr::BinaryOp {
                op: BinaryOperator::Or,
                ..
            }
        ) {
            found = true;
        }
        ControlFlow::<()>::Continue(())
    });
    found
}

/// The table qualifiers a condition names (`f` in `f.name`).
fn tables(e: &Expr) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let _ = sqlparser::ast::visit_expressions(e, |x| {
        if let Expr::CompoundIdentifier(parts) = x {
            if parts.len() >= 2 {
                out.insert(parts[parts.len() - 2].value.to_lowercase());
            }
        }
        ControlFlow::<()>::Continue(())
    });
    out
}

/// Whether a condition relates the two tables (and so stays in `ON`): it names two tables, or
/// it is an equality of two unqualified columns (`run_id = id`).
fn is_join_key(e: &Expr) -> bool {
    if tables(e).len() >= 2 {
        return true;
    }
    matches!(
        e,
        Expr::BinaryOp { left, op: BinaryOperator::Eq, right }
            if matches!(**left, Expr::Identifier(_)) && matches!(**right, Expr::Identifier(_))
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_table_conditions_of_an_inner_join_move_to_where() {
        let out = prepare(
            "SELECT count(*) FROM runs r JOIN metrics f ON f.run_id = r.id AND f.name = 'test/acc' AND f.step = 100 WHERE r.seed = 1 OR r.seed = 2",
        )
        .unwrap();
        assert_eq!(
            out,
            "SELECT count(*) FROM runs r JOIN metrics f ON f.run_id = r.id WHERE (f.name = 'test/acc') AND (f.step = 100) AND (r.seed = 1 OR r.seed = 2)"
        );
    }

    #[test]
    fn queries_that_need_nothing_pass_unchanged() {
        for sql in [
            "SELECT * FROM runs",
            "SELECT * FROM runs r LEFT JOIN metrics f ON f.run_id = r.id AND r.seed = 1",
            "SELECT * FROM runs r JOIN metrics f ON f.run_id = r.id AND f.step > r.steps_done",
            "not sql at all",
        ] {
            assert_eq!(prepare(sql).unwrap(), sql);
        }
    }

    #[test]
    fn a_left_joins_conditions_on_its_right_table_filter_that_table_first() {
        let out = prepare(
            "SELECT * FROM runs r LEFT JOIN final_metrics f ON f.run_id = r.id AND f.name = 'x' AND r.seed = 1",
        )
        .unwrap();
        assert_eq!(
            out,
            "SELECT * FROM runs r LEFT JOIN (SELECT * FROM final_metrics f WHERE (f.name = 'x')) f ON f.run_id = r.id AND r.seed = 1"
        );
    }

    #[test]
    fn parentheses_around_on_go() {
        let out = prepare("SELECT * FROM runs r JOIN metrics f ON (f.run_id = r.id)").unwrap();
        assert_eq!(
            out,
            "SELECT * FROM runs r JOIN metrics f ON f.run_id = r.id"
        );
    }

    #[test]
    fn or_between_join_conditions_and_unsafe_moves_are_refused() {
        let e = prepare("SELECT * FROM runs r JOIN metrics f ON f.run_id = r.id OR f.name = r.id")
            .unwrap_err();
        assert!(e.to_string().contains("OR between join conditions"), "{e}");
        let e = prepare(
            "SELECT * FROM runs r JOIN metrics f ON f.run_id = r.id AND f.name = 'x' RIGHT JOIN final_metrics g ON g.run_id = r.id",
        )
        .unwrap_err();
        assert!(e.to_string().contains("filter that table first"), "{e}");
    }

    #[test]
    fn subqueries_and_ctes_are_rewritten_too() {
        let out = prepare(
            "WITH t AS (SELECT r.id FROM runs r JOIN metrics f ON f.run_id = r.id AND f.name = 'x') SELECT * FROM t",
        )
        .unwrap();
        assert!(out.contains("WHERE (f.name = 'x')"), "{out}");
    }
}
