//! One writer at a time per report folder. Two runs given the same `--report` folder (two
//! CI jobs in one workspace, a `check` beside a `report --from`) would otherwise rename
//! their files into place in turn and leave a folder that is half one run and half the
//! other. Whoever writes a set, or clears one after a failed run, holds an exclusive
//! `flock` on the folder itself; the other waits, saying so, and then writes a whole set of
//! its own. The kernel releases the lock when its holder exits, however it exits.

use std::fs::File;
use std::path::Path;
use std::time::Duration;

use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};

use crate::error::{Error, Result};

/// The held lock of one report folder; released when dropped.
pub struct FolderLock {
    _lock: Flock<File>,
}

/// How often a waiting run tries the lock again. Ctrl-C and SIGTERM end the wait at once:
/// the signal handler exits the process.
const RETRY: Duration = Duration::from_millis(50);

/// Take the folder's lock, waiting while another run holds it.
pub fn lock(dir: &Path) -> Result<FolderLock> {
    let mut file = File::open(dir).map_err(|e| Error::io(dir, e))?;
    let mut told = false;
    loop {
        match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(lock) => return Ok(FolderLock { _lock: lock }),
            Err((again, Errno::EWOULDBLOCK)) => {
                if !told {
                    errln!(
                        "waiting for {}: another reims-verify run is writing its reports there",
                        dir.display()
                    );
                    told = true;
                }
                file = again;
                std::thread::sleep(RETRY);
            }
            Err((_, errno)) => return Err(Error::io(dir, std::io::Error::from(errno))),
        }
    }
}
