//! Independent work spread over the machine's cores, with results in input order, so that
//! a parallel step gives exactly what the same step one by one would give.

/// How many threads to use for `portions` independent portions of work: one per core, at
/// most one per portion, at least one.
fn threads_for(portions: usize) -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(portions)
        .max(1)
}

/// `f` over every item, on up to `available_parallelism` threads (the caller's among them),
/// each taking a contiguous run of at least `min_per_thread` items; the results come back
/// in the items' order. A panic in `f` is resumed on the caller's thread.
pub fn map_in_order<T: Sync, R: Send>(
    items: &[T],
    min_per_thread: usize,
    f: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    let threads = threads_for(items.len().div_ceil(min_per_thread.max(1)));
    if threads == 1 {
        return items.iter().map(&f).collect();
    }
    let chunk = items.len().div_ceil(threads);
    let f = &f;
    std::thread::scope(|scope| {
        let mut parts = items.chunks(chunk);
        let first = parts.next().unwrap_or_default();
        let handles: Vec<_> = parts
            .map(|part| scope.spawn(move || part.iter().map(f).collect::<Vec<R>>()))
            .collect();
        // The first run is the caller's own: one thread fewer to start, and its memory comes
        // from what the caller has already freed.
        let mut out: Vec<R> = first.iter().map(f).collect();
        for h in handles {
            out.extend(h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)));
        }
        out
    })
}

/// `f` over every item, on up to `available_parallelism` threads (the caller's among them),
/// each thread taking the next item not yet taken; the results come back in the items'
/// order. For a few items of unequal cost, listed costliest first: the threads stay busy
/// until the last item, where contiguous runs may leave one thread idle while another
/// works through the two largest. A panic in `f` is resumed on the caller's thread.
pub fn map_claimed<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = threads_for(items.len());
    if threads == 1 {
        return items.iter().map(&f).collect();
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    let work = || {
        let mut done = Vec::new();
        loop {
            let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let Some(item) = items.get(i) else {
                return done;
            };
            done.push((i, f(item)));
        }
    };
    let mut out: Vec<(usize, R)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (1..threads).map(|_| scope.spawn(work)).collect();
        let mut out = work();
        for h in handles {
            out.extend(h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)));
        }
        out
    });
    out.sort_unstable_by_key(|(i, _)| *i);
    out.into_iter().map(|(_, r)| r).collect()
}

#[cfg(test)]
mod tests {
    use super::{map_claimed, map_in_order};

    #[test]
    fn claimed_items_come_back_in_the_input_order_each_once() {
        let items: Vec<u64> = (0..200).collect();
        // Unequal costs, so that threads finish out of order.
        let out = map_claimed(&items, |x| {
            std::thread::sleep(std::time::Duration::from_micros((200 - x) * 20));
            x * 3
        });
        assert_eq!(out, items.iter().map(|x| x * 3).collect::<Vec<_>>());
        assert!(map_claimed(&[] as &[u64], |x| *x).is_empty());
        assert_eq!(map_claimed(&[7u64], |x| *x + 1), vec![8]);
    }

    #[test]
    fn a_panic_in_a_claimed_item_reaches_the_caller() {
        let caught = std::panic::catch_unwind(|| {
            map_claimed(&[1u32, 2, 3, 4], |x| {
                assert!(*x != 3, "item three");
                *x
            })
        });
        assert!(caught.is_err());
    }

    #[test]
    fn results_keep_the_input_order_whatever_the_split() {
        let items: Vec<u32> = (0..1000).collect();
        for min in [1, 7, 64, 5000] {
            let out = map_in_order(&items, min, |x| x * 2);
            assert_eq!(
                out,
                items.iter().map(|x| x * 2).collect::<Vec<_>>(),
                "{min}"
            );
        }
        assert!(map_in_order(&[] as &[u32], 1, |x| *x).is_empty());
    }
}
