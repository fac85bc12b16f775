//! What must not outlive kfpx when it is interrupted: temporary files beside an output being
//! written, and the process group of a running probe (which is in its own group, so that a
//! timeout can kill everything the interpreter started, and so does not get the terminal's
//! Ctrl-C itself).
//!
//! While a guard ([`TempFileGuard`], [`GroupGuard`]) lives, handlers for SIGINT, SIGTERM and
//! SIGHUP are installed; when the last guard goes, the previous handlers come back (so the
//! Ctrl-C handling of `run-once --wait-for-completion` is untouched). The handler does only
//! async-signal-safe things: `unlink` each registered temporary file, `kill` each
//! registered process group, then restore the default action and re-raise the signal, so the
//! exit status is the usual one (130 for Ctrl-C in a shell). kill -9 cannot be caught:
//! [`crate::files::write_atomic`] removes temporary files whose writer is gone instead.
//!
//! The registry is a fixed array of slots (no allocation in the handler); a slot holds a
//! NUL-terminated path or a process group id.

use std::ffi::CString;
use std::path::Path;

/// At most this many temporary files and probe groups are registered at once (kfpx writes
/// one file at a time and runs one probe).
const SLOTS: usize = 8;
const PATH_MAX: usize = 4096;

#[cfg(unix)]
mod imp {
    use super::*;
    use std::cell::UnsafeCell;
    use std::sync::atomic::{AtomicI32, AtomicU8, Ordering};
    use std::sync::Mutex;

    const FREE: u8 = 0;
    const WRITING: u8 = 1;
    const READY: u8 = 2;

    struct PathSlot {
        state: AtomicU8,
        buf: UnsafeCell<[u8; PATH_MAX]>,
    }

    // SAFETY: `buf` is written only by the thread that moved `state` FREE -> WRITING, and read
    // (by the handler) only while `state` is READY.
    unsafe impl Sync for PathSlot {}

    #[allow(clippy::declare_interior_mutable_const)]
    const EMPTY_PATH: PathSlot = PathSlot {
        state: AtomicU8::new(FREE),
        buf: UnsafeCell::new([0; PATH_MAX]),
    };
    static PATHS: [PathSlot; SLOTS] = [EMPTY_PATH; SLOTS];
    #[allow(clippy::declare_interior_mutable_const)]
    const NO_GROUP: AtomicI32 = AtomicI32::new(0);
    static GROUPS: [AtomicI32; SLOTS] = [NO_GROUP; SLOTS];

    const SIGNALS: [libc::c_int; 3] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP];

    /// Live guards and the handlers that were in place before ours.
    struct Installed {
        guards: usize,
        previous: Vec<libc::sigaction>,
    }
    static INSTALLED: Mutex<Installed> = Mutex::new(Installed {
        guards: 0,
        previous: Vec::new(),
    });

    extern "C" fn handler(sig: libc::c_int) {
        for slot in &PATHS {
            if slot.state.load(Ordering::Acquire) == READY {
                // SAFETY: READY means the buffer holds a NUL-terminated path.
                unsafe { libc::unlink(slot.buf.get() as *const libc::c_char) };
            }
        }
        for g in &GROUPS {
            let pgid = g.load(Ordering::Acquire);
            if pgid > 0 {
                // SAFETY: kill is async-signal-safe.
                unsafe { libc::kill(-pgid, libc::SIGKILL) };
            }
        }
        // SAFETY: signal and raise are async-signal-safe; the default action ends the process
        // with the status a shell expects.
        unsafe {
            libc::signal(sig, libc::SIG_DFL);
            libc::raise(sig);
        }
    }

    /// One more guard: install the handlers if it is the first.
    fn acquire() {
        let mut st = INSTALLED.lock().unwrap_or_else(|e| e.into_inner());
        st.guards += 1;
        if st.guards > 1 {
            return;
        }
        st.previous.clear();
        for sig in SIGNALS {
            // SAFETY: installing a handler that only calls async-signal-safe functions; the
            // old action is kept to be restored.
            unsafe {
                let mut action: libc::sigaction = std::mem::zeroed();
                action.sa_sigaction = handler as *const () as usize;
                libc::sigemptyset(&mut action.sa_mask);
                action.sa_flags = libc::SA_RESTART;
                let mut old: libc::sigaction = std::mem::zeroed();
                libc::sigaction(sig, &action, &mut old);
                st.previous.push(old);
            }
        }
    }

    /// One guard less: restore the previous handlers after the last.
    fn release() {
        let mut st = INSTALLED.lock().unwrap_or_else(|e| e.into_inner());
        st.guards = st.guards.saturating_sub(1);
        if st.guards > 0 {
            return;
        }
        let previous = std::mem::take(&mut st.previous);
        for (sig, old) in SIGNALS.iter().zip(previous) {
            // SAFETY: putting back the action that was there before.
            unsafe { libc::sigaction(*sig, &old, std::ptr::null_mut()) };
        }
    }

    pub fn register_path(path: &Path) -> Option<usize> {
        use std::os::unix::ffi::OsStrExt;
        let c = CString::new(path.as_os_str().as_bytes()).ok()?;
        let bytes = c.as_bytes_with_nul();
        if bytes.len() > PATH_MAX {
            return None;
        }
        for (i, slot) in PATHS.iter().enumerate() {
            if slot
                .state
                .compare_exchange(FREE, WRITING, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
            {
                // SAFETY: this thread owns the slot while it is WRITING.
                unsafe {
                    std::ptr::copy_nonoverlapping(
                        bytes.as_ptr(),
                        slot.buf.get() as *mut u8,
                        bytes.len(),
                    )
                };
                slot.state.store(READY, Ordering::Release);
                acquire();
                return Some(i);
            }
        }
        None
    }

    pub fn unregister_path(i: usize) {
        PATHS[i].state.store(FREE, Ordering::Release);
        release();
    }

    pub fn register_group(pgid: u32) -> Option<usize> {
        let pgid = i32::try_from(pgid).ok().filter(|p| *p > 0)?;
        let i = GROUPS.iter().position(|g| {
            g.compare_exchange(0, pgid, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
        })?;
        acquire();
        Some(i)
    }

    pub fn unregister_group(i: usize) {
        GROUPS[i].store(0, Ordering::Release);
        release();
    }
}

#[cfg(not(unix))]
mod imp {
    use super::*;
    pub fn register_path(_: &Path) -> Option<usize> {
        None
    }
    pub fn unregister_path(_: usize) {}
    pub fn register_group(_: u32) -> Option<usize> {
        None
    }
    pub fn unregister_group(_: usize) {}
}

/// A temporary file removed if a signal ends kfpx while this guard lives.
pub struct TempFileGuard(Option<usize>);

impl TempFileGuard {
    pub fn new(path: &Path) -> TempFileGuard {
        TempFileGuard(imp::register_path(path))
    }
}

impl Drop for TempFileGuard {
    fn drop(&mut self) {
        if let Some(i) = self.0 {
            imp::unregister_path(i)
        }
    }
}

/// A process group killed if a signal ends kfpx while this guard lives.
pub struct GroupGuard(Option<usize>);

impl GroupGuard {
    pub fn new(pgid: u32) -> GroupGuard {
        GroupGuard(imp::register_group(pgid))
    }
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        if let Some(i) = self.0 {
            imp::unregister_group(i)
        }
    }
}

/// Kill a whole process group (best effort).
pub fn kill_group(pgid: u32) {
    #[cfg(unix)]
    if let Ok(p) = i32::try_from(pgid) {
        if p > 0 {
            // SAFETY: plain syscall.
            unsafe { libc::kill(-p, libc::SIGKILL) };
        }
    }
    #[cfg(not(unix))]
    let _ = pgid;
}

/// Whether a process with this id exists (unknown on other systems: assume yes).
pub fn process_alive(pid: u32) -> bool {
    #[cfg(unix)]
    {
        let Ok(p) = i32::try_from(pid) else {
            return false;
        };
        // SAFETY: signal 0 only checks for existence.
        let r = unsafe { libc::kill(p, 0) };
        r == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
    }
    #[cfg(not(unix))]
    {
        let _ = pid;
        true
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    /// A child that gets SIGTERM while a temporary file is registered: the file is removed and
    /// the child still ends by SIGTERM (the status a shell expects).
    #[test]
    fn a_signal_removes_registered_files_and_still_ends_the_process() {
        let dir = tempfile::tempdir().unwrap();
        let tmp = dir.path().join(".kfpx-1-x.tmp");
        std::fs::write(&tmp, "partial").unwrap();
        let kept = dir.path().join("kept");
        std::fs::write(&kept, "k").unwrap();
        // registered in this process, inherited by the child; the child only raises
        let guard = TempFileGuard::new(&tmp);
        // SAFETY: the child calls only raise and _exit (async-signal-safe).
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0);
        if pid == 0 {
            unsafe {
                libc::raise(libc::SIGTERM);
                libc::_exit(0);
            }
        }
        let mut status = 0;
        // SAFETY: waiting for our own child.
        unsafe { libc::waitpid(pid, &mut status, 0) };
        drop(guard);
        assert!(libc::WIFSIGNALED(status), "status {status}");
        assert_eq!(libc::WTERMSIG(status), libc::SIGTERM);
        assert!(!tmp.exists(), "the temporary file is left");
        assert!(kept.exists());
    }
}
