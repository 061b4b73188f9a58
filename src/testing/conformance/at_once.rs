//! Work started together, for the behaviours that race writes against each other.

use std::sync::Arc;

use tokio::sync::Barrier;

/// Runs each of `tasks` as a tokio task, all released together by one barrier, and answers what
/// each answered, in order. A task's panic is the behaviour's panic, with its message.
pub(super) async fn at_once<T, F>(tasks: impl IntoIterator<Item = F>) -> Vec<T>
where
    F: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let tasks: Vec<F> = tasks.into_iter().collect();
    let start = Arc::new(Barrier::new(tasks.len()));
    let running: Vec<_> = tasks
        .into_iter()
        .map(|task| {
            let start = Arc::clone(&start);
            tokio::spawn(async move {
                start.wait().await;
                task.await
            })
        })
        .collect();
    let mut answers = Vec::with_capacity(running.len());
    for task in running {
        let answer = task.await;
        answers.push(answer.unwrap_or_else(|error| std::panic::resume_unwind(error.into_panic())));
    }
    answers
}
