//! A sleep future for time limits, independent of any runtime: a thread wakes it.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

#[derive(Default)]
struct State {
    done: bool,
    waker: Option<Waker>,
}

/// Completes once its duration has passed.
pub struct Sleep {
    state: Arc<Mutex<State>>,
}

/// A future that completes after `d`.
pub fn sleep(d: Duration) -> Sleep {
    let state = Arc::new(Mutex::new(State::default()));
    let s = state.clone();
    let deadline = Instant::now() + d;
    std::thread::spawn(move || {
        let now = Instant::now();
        if deadline > now {
            std::thread::sleep(deadline - now);
        }
        let mut st = s.lock().unwrap_or_else(|e| e.into_inner());
        st.done = true;
        if let Some(w) = st.waker.take() {
            w.wake();
        }
    });
    Sleep { state }
}

impl Future for Sleep {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if st.done {
            Poll::Ready(())
        } else {
            st.waker = Some(cx.waker().clone());
            Poll::Pending
        }
    }
}

/// Run `f` for at most `d`: `None` when time ran out.
pub async fn timeout<F: Future>(d: Duration, f: F) -> Option<F::Output> {
    use futures_util::future::{select, Either};
    let f = std::pin::pin!(f);
    match select(f, sleep(d)).await {
        Either::Left((v, _)) => Some(v),
        Either::Right(_) => None,
    }
}
