//! Case memory: investigations and the attempts made since, so `fmr tried` can
//! re-rank a case and say what changed. Every write is one transaction.

use rusqlite::{OptionalExtension, TransactionBehavior, params};

use crate::{Store, StoreError, unix_now};

/// One row of `fmr case list`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CaseSummary {
    pub id: i64,
    pub created_at: i64,
    pub updated_at: i64,
    pub title: String,
    pub top_hypothesis: String,
    pub attempts: usize,
}

/// A whole case: its inputs and latest report (JSON), and its attempts.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CaseRecord {
    pub summary: CaseSummary,
    pub inputs_json: String,
    pub report_json: String,
    pub attempts: Vec<Attempt>,
}

/// Something tried on a case, and how it went.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Attempt {
    pub id: i64,
    pub created_at: i64,
    pub text: String,
    /// `failed`, `helped`, `partial` or `unknown`.
    pub outcome: String,
    pub note: String,
}

/// An attempt as `fmr tried` records it.
#[derive(Debug, Clone, Copy)]
pub struct AttemptRecord<'a> {
    pub text: &'a str,
    /// `failed`, `helped`, `partial` or `unknown`.
    pub outcome: &'a str,
    pub note: &'a str,
}

const OUTCOMES: &[&str] = &["failed", "helped", "partial", "unknown"];

impl Store {
    /// Records a new case; returns its id.
    pub fn case_create(
        &mut self,
        title: &str,
        inputs_json: &str,
        report_json: &str,
        top: &str,
    ) -> Result<i64, StoreError> {
        let now = unix_now();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute(
            "INSERT INTO cases (created_at, updated_at, title, inputs_json, report_json, top_hypothesis)
             VALUES (?1, ?1, ?2, ?3, ?4, ?5)",
            params![now, title, inputs_json, report_json, top],
        )?;
        let id = tx.last_insert_rowid();
        tx.commit()?;
        Ok(id)
    }

    /// Adds an attempt and stores the inputs that now include it and the
    /// re-ranked report, in one transaction: all land or none does. Returns the
    /// attempt's id.
    pub fn case_record_attempt(
        &mut self,
        case_id: i64,
        attempt: AttemptRecord<'_>,
        inputs_json: &str,
        report_json: &str,
        top: &str,
    ) -> Result<i64, StoreError> {
        if !OUTCOMES.contains(&attempt.outcome) {
            return Err(StoreError::Invalid(format!(
                "outcome {:?} is not one of {}",
                attempt.outcome,
                OUTCOMES.join(", ")
            )));
        }
        let now = unix_now();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let updated = tx.execute(
            "UPDATE cases SET inputs_json = ?2, report_json = ?3, top_hypothesis = ?4, updated_at = ?5 WHERE id = ?1",
            params![case_id, inputs_json, report_json, top, now],
        )?;
        if updated == 0 {
            return Err(StoreError::Invalid(format!("no case #{case_id}")));
        }
        tx.execute(
            "INSERT INTO attempts (case_id, created_at, text, outcome, note) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![case_id, now, attempt.text, attempt.outcome, attempt.note],
        )?;
        let id = tx.last_insert_rowid();
        tx.commit()?;
        Ok(id)
    }

    /// Every case, newest first.
    pub fn case_list(&self) -> Result<Vec<CaseSummary>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT c.id, c.created_at, c.updated_at, c.title, c.top_hypothesis,
                    (SELECT COUNT(*) FROM attempts a WHERE a.case_id = c.id)
             FROM cases c ORDER BY c.id DESC",
        )?;
        let rows = stmt.query_map([], summary_from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// One case with its attempts, or `None`.
    pub fn case_get(&self, case_id: i64) -> Result<Option<CaseRecord>, StoreError> {
        let row = self
            .conn
            .prepare_cached(
                "SELECT c.id, c.created_at, c.updated_at, c.title, c.top_hypothesis,
                        (SELECT COUNT(*) FROM attempts a WHERE a.case_id = c.id),
                        c.inputs_json, c.report_json
                 FROM cases c WHERE c.id = ?1",
            )?
            .query_row(params![case_id], |row| {
                Ok((
                    summary_from_row(row)?,
                    row.get::<_, String>(6)?,
                    row.get::<_, String>(7)?,
                ))
            })
            .optional()?;
        let Some((summary, inputs_json, report_json)) = row else {
            return Ok(None);
        };
        let mut stmt = self
            .conn
            .prepare_cached("SELECT id, created_at, text, outcome, note FROM attempts WHERE case_id = ?1 ORDER BY id")?;
        let attempts = stmt
            .query_map(params![case_id], |row| {
                Ok(Attempt {
                    id: row.get(0)?,
                    created_at: row.get(1)?,
                    text: row.get(2)?,
                    outcome: row.get(3)?,
                    note: row.get(4)?,
                })
            })?
            .collect::<Result<_, _>>()?;
        Ok(Some(CaseRecord {
            summary,
            inputs_json,
            report_json,
            attempts,
        }))
    }
}

fn summary_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<CaseSummary> {
    Ok(CaseSummary {
        id: row.get(0)?,
        created_at: row.get(1)?,
        updated_at: row.get(2)?,
        title: row.get(3)?,
        top_hypothesis: row.get(4)?,
        attempts: row.get::<_, i64>(5)? as usize,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cases_and_attempts_round_trip() {
        let mut store = Store::open_in_memory().unwrap();
        let id = store
            .case_create("loss NaN", "{\"symptom\":\"nan\"}", "{\"v\":1}", "FM0001")
            .unwrap();
        let other = store.case_create("plateau", "{}", "{}", "FM0003").unwrap();
        assert!(other > id);
        let attempt = AttemptRecord {
            text: "lowered lr",
            outcome: "failed",
            note: "no change",
        };
        let inputs = "{\"symptom\":\"nan\",\"n\":1}";
        store
            .case_record_attempt(id, attempt, inputs, "{\"v\":2}", "FM0008")
            .unwrap();
        let list = store.case_list().unwrap();
        assert_eq!(list[0].id, other, "newest first");
        assert_eq!(list[1].attempts, 1);
        assert_eq!(list[1].top_hypothesis, "FM0008");
        let record = store.case_get(id).unwrap().unwrap();
        assert_eq!(record.report_json, "{\"v\":2}");
        assert_eq!(record.inputs_json, "{\"symptom\":\"nan\",\"n\":1}");
        assert_eq!(record.attempts[0].outcome, "failed");
        assert!(store.case_get(999).unwrap().is_none());
    }

    #[test]
    fn a_rejected_attempt_changes_nothing() {
        let mut store = Store::open_in_memory().unwrap();
        let id = store.case_create("t", "{}", "{\"v\":1}", "FM0001").unwrap();
        let maybe = AttemptRecord {
            text: "x",
            outcome: "maybe",
            note: "",
        };
        assert!(
            store
                .case_record_attempt(id, maybe, "{}", "{\"v\":2}", "FM0002")
                .is_err()
        );
        let failed = AttemptRecord {
            text: "x",
            outcome: "failed",
            note: "",
        };
        assert!(
            store
                .case_record_attempt(404, failed, "{}", "{\"v\":2}", "FM0002")
                .is_err()
        );
        let record = store.case_get(id).unwrap().unwrap();
        assert_eq!(record.report_json, "{\"v\":1}");
        assert!(record.attempts.is_empty());
    }
}
