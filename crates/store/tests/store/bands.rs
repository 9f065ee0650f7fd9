//! The income bands counted in SQL (the dashboards' 收入分布) against the domain's
//! `IncomeBand::of`, as `id_keys_computed_in_sql_match_the_domain` does for ID keys.

use fupin_domain::income::IncomeBand;
use fupin_store::Store;

contract!(income_bands_in_sql_match_the_domain);

/// For lines of every parity, each income at and around the band edges (1×, 1.5×, 2×),
/// zero, a negative and an unknown income, and a spread between: the database puts each
/// in exactly the band the domain does.
async fn income_bands_in_sql_match_the_domain(store: Store) {
    for line in [1_i64, 3, 7, 400_000, 416_001, 230_000] {
        let mut incomes: Vec<Option<i64>> = vec![None, Some(-1), Some(0)];
        for edge in [line, 3 * line / 2, (3 * line + 1) / 2, 2 * line] {
            incomes.extend((-2..=2).map(|d| Some(edge + d)));
        }
        incomes.extend((0..40).map(|k| Some(k * line / 13)));
        for p in incomes {
            let held = store.work().income_bands_in_sql(p, line).await.unwrap();
            assert_eq!(held, vec![IncomeBand::of(p, line)], "{p:?} against {line}");
        }
    }
}
