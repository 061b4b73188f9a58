//! Announcements on a table's `NOTIFY` channel, heard through `LISTEN` on a connection of the
//! pool.

use sqlx::{PgPool, postgres::PgListener};

use crate::store::listener::{Announcements, Heard, Refused};

/// The `NOTIFY` channel named after a table, heard through the store's pool.
pub(super) struct TableChannel {
    pub(super) pool: PgPool,
    pub(super) channel: String,
}

impl Announcements for TableChannel {
    type Subscription = PgListener;
    type Error = sqlx::Error;

    fn channel(&self) -> &str {
        &self.channel
    }

    async fn subscribe(&self) -> Result<PgListener, Refused<sqlx::Error>> {
        let subscribed = async {
            let mut listener = PgListener::connect_with(&self.pool).await?;
            listener.listen(&self.channel).await?;
            Ok(listener)
        };
        subscribed.await.map_err(|error| match error {
            sqlx::Error::PoolClosed => Refused::Closed(error),
            error => Refused::Failed(error),
        })
    }

    async fn next(&self, listener: &mut PgListener) -> Heard {
        match listener.try_recv().await {
            Ok(Some(notification)) => Heard::Payload(notification.payload().to_owned()),
            Ok(None) => Heard::Lost(None),
            Err(sqlx::Error::PoolClosed) => Heard::Closed,
            Err(error) => Heard::Lost(Some(error.to_string())),
        }
    }
}
