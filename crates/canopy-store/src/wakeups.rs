//! Prompt wake-ups for the store's sync thread, which every durable write waits on.
//!
//! Linux's EEVDF scheduler lets a running thread finish its time slice (0.75 ms and more) before a
//! thread it woke gets the core. On two cores shared by the HTTP thread, the store's writer and
//! a load generator, the sync thread woken by a finished `fdatasync` waited 54 µs on average
//! for a core (`perf sched timehist`, CreateOrganizationalUnit at 32 connections), and every
//! write of the batch waited with it. A thread that asks for a short slice (Linux 6.12 and
//! later; no privilege needed) is run at once when woken, but gets no larger share of the CPU.
//! Measured with one HTTP thread: CreateOrganizationalUnit 27.3–28.6k → 32.3–33.7k requests/s
//! with the sync and HTTP threads at 100 µs. Giving the writer one too lost 5 %, readers gained
//! nothing, and once two HTTP threads served (the default on two cores) theirs cost 1–6 % of
//! the writes' rate, so only the sync thread asks (README).

/// The shortest slice Linux accepts (it clamps to 0.1–100 ms).
const SLICE_NS: u64 = 100_000;

/// Asks for a short time slice for the calling thread, keeping its policy and nice value;
/// returns whether the kernel took it. Does nothing unless the thread runs under the normal
/// policy (not one a user chose with `chrt`), and on kernels or systems without the call.
pub(crate) fn prefer_prompt_wakeups() -> bool {
    imp::short_slice(SLICE_NS)
}

#[cfg(target_os = "linux")]
mod imp {
    /// `struct sched_attr` as of Linux 3.14 (SCHED_ATTR_SIZE_VER0); later fields are optional.
    #[repr(C)]
    #[derive(Default)]
    pub(super) struct SchedAttr {
        pub size: u32,
        pub sched_policy: u32,
        pub sched_flags: u64,
        pub sched_nice: i32,
        pub sched_priority: u32,
        pub sched_runtime: u64,
        pub sched_deadline: u64,
        pub sched_period: u64,
    }

    const SIZE: u32 = std::mem::size_of::<SchedAttr>() as u32;

    /// The calling thread's scheduling attributes.
    pub(super) fn current() -> Option<SchedAttr> {
        let mut attr = SchedAttr::default();
        // SAFETY: `attr` is a valid, writable `sched_attr` of `SIZE` bytes; pid 0 is this thread.
        let got = unsafe { libc::syscall(libc::SYS_sched_getattr, 0, &mut attr as *mut SchedAttr, SIZE, 0) };
        (got == 0).then_some(attr)
    }

    pub fn short_slice(slice_ns: u64) -> bool {
        let Some(mut attr) = current().filter(|a| a.sched_policy == libc::SCHED_OTHER as u32) else {
            return false;
        };
        attr.size = SIZE;
        attr.sched_flags = 0;
        attr.sched_runtime = slice_ns;
        // SAFETY: as above; the kernel only reads `attr`.
        let set = unsafe { libc::syscall(libc::SYS_sched_setattr, 0, &attr as *const SchedAttr, 0) };
        set == 0
    }
}

#[cfg(not(target_os = "linux"))]
mod imp {
    pub fn short_slice(_slice_ns: u64) -> bool {
        false
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    fn kernel_at_least(major: u32, minor: u32) -> bool {
        let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
        let mut parts = release.trim().split(|c: char| !c.is_ascii_digit()).filter_map(|p| p.parse::<u32>().ok());
        let found = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
        found >= (major, minor)
    }

    /// (policy, nice, slice in ns) of the calling thread.
    fn current() -> (u32, i32, u64) {
        let attr = imp::current().expect("sched_getattr");
        (attr.sched_policy, attr.sched_nice, attr.sched_runtime)
    }

    #[test]
    fn the_slice_is_shortened_and_the_nice_value_kept() {
        std::thread::spawn(|| {
            // A niced thread stays niced: only the slice changes.
            // SAFETY: plain syscalls on this thread.
            let tid = unsafe { libc::syscall(libc::SYS_gettid) } as libc::id_t;
            assert_eq!(unsafe { libc::setpriority(libc::PRIO_PROCESS, tid, 5) }, 0);
            let before = current();
            let applied = prefer_prompt_wakeups();
            let after = current();
            assert_eq!((after.0, after.1), (before.0, 5), "policy and nice unchanged");
            if kernel_at_least(6, 12) {
                assert!(applied, "Linux 6.12+ takes a custom slice");
                assert_eq!(after.2, SLICE_NS);
            } else if !applied {
                assert_eq!(after.2, before.2, "nothing changed where the call was refused");
            }
        })
        .join()
        .unwrap();
    }

    #[test]
    fn a_thread_under_another_policy_is_left_alone() {
        std::thread::spawn(|| {
            // SAFETY: SCHED_BATCH needs no privilege; the struct is what the call expects.
            let param = libc::sched_param { sched_priority: 0 };
            assert_eq!(unsafe { libc::sched_setscheduler(0, libc::SCHED_BATCH, &param) }, 0);
            let before = current();
            assert!(!prefer_prompt_wakeups());
            assert_eq!(current(), before);
        })
        .join()
        .unwrap();
    }
}
