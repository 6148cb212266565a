//! Placeholder while the property is being written; replaced before anything ships.
use sqlx::PgConnection;

use crate::error::Result;
use crate::probe::ProbeConfig;
use crate::verify::Finding;

/// Placeholder: returns no findings yet.
pub async fn check(_conn: &mut PgConnection, _config: &ProbeConfig) -> Result<Vec<Finding>> {
    Ok(Vec::new())
}
