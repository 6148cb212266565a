//! Independent work spread over the machine's cores, with results in input order, so that
//! a parallel step gives exactly what the same step one by one would give.

/// `f` over every item, on up to `available_parallelism` threads (the caller's among them),
/// each taking a contiguous run of at least `min_per_thread` items; the results come back
/// in the items' order. A panic in `f` is resumed on the caller's thread.
pub fn map_in_order<T: Sync, R: Send>(
    items: &[T],
    min_per_thread: usize,
    f: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(items.len().div_ceil(min_per_thread.max(1)))
        .max(1);
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

#[cfg(test)]
mod tests {
    use super::map_in_order;

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
