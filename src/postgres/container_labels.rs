//! The labels every container of the container backend carries, read back by the next run
//! to find a killed run's container (`stale_containers.rs`). Apart from the backend so that
//! the two share them without importing each other.

/// Label carried by every container this tool starts; its value is unique per container,
/// so that cleanup finds a container even before its id is known.
pub const RUN_LABEL: &str = "org.reims-verify.run";

/// Label holding the process id of the reims-verify that started the container.
pub const PID_LABEL: &str = "org.reims-verify.pid";

/// Label naming where that process ran (hostname, boot id and pid namespace), so that a
/// later run removes a killed run's container only when the pid is its own kind of pid.
pub const HOST_LABEL: &str = "org.reims-verify.host";
