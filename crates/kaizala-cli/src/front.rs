//! The production options of every command that serves HTTP
//! (`--tls-cert`, `--tls-key`, `--max-connections`, `--metrics-listen`,
//! `--ready-max-lag`), and starting its fronts with them.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;
use kaizala_webhook::front::{
    self, ConnectionCounters, Front, FrontConfig, FrontService, TlsConfig,
};

use crate::commands::bind;
use crate::error::{CliError, CliResult};
use crate::operations::{MaxLag, Operations};

/// How a command serves HTTP.
#[derive(Debug, Clone, Args)]
pub struct FrontArgs {
    /// Serve HTTPS with this PEM certificate chain (the server's
    /// certificate first, then intermediates); give --tls-key too.
    #[arg(long, value_name = "FILE")]
    pub tls_cert: Option<PathBuf>,
    /// The PEM private key (PKCS#8, PKCS#1 or SEC1) of --tls-cert.
    #[arg(long, value_name = "FILE")]
    pub tls_key: Option<PathBuf>,
    /// The most connections served at once; one more is answered `503`
    /// with `Retry-After: 1` and closed, rather than queued.
    #[arg(long, value_name = "N", default_value_t = FrontConfig::DEFAULT_MAX_CONNECTIONS,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub max_connections: usize,
    /// Also serve /healthz, /readyz and /metrics (only those) on this
    /// address, e.g. for a Prometheus scraper on an internal network.
    #[arg(long, value_name = "ADDR")]
    pub metrics_listen: Option<SocketAddr>,
    /// /readyz answers 503 while the projection lags more than this: a
    /// time the oldest unprojected log entry has waited (500ms, 30s, 5m,
    /// 1h) or a number of unprojected log entries (1000).
    #[arg(long, value_name = "LAG", default_value = "60s")]
    pub ready_max_lag: MaxLag,
}

impl FrontArgs {
    /// The front configuration: TLS (both files or neither) and the cap,
    /// on top of `base`.
    pub fn config(&self, base: FrontConfig) -> CliResult<FrontConfig> {
        let config = base.max_connections(self.max_connections);
        match (&self.tls_cert, &self.tls_key) {
            (None, None) => Ok(config),
            (Some(cert), Some(key)) => {
                let tls = TlsConfig::from_pem_files(cert, key)
                    .map_err(|err| CliError::new(err.to_string()))?;
                Ok(config.tls(tls))
            }
            (Some(_), None) => Err(CliError::new(
                "--tls-cert needs --tls-key: give both or neither",
            )),
            (None, Some(_)) => Err(CliError::new(
                "--tls-key needs --tls-cert: give both or neither",
            )),
        }
    }

    /// Binds `listen` (and --metrics-listen), then serves `service` on it
    /// (named `name` in /metrics) and the operations routes alone on
    /// --metrics-listen. `service` gets the operations routes, to mount,
    /// and the address it is served on.
    pub async fn serve<S, F>(
        &self,
        listen: SocketAddr,
        name: &'static str,
        base: FrontConfig,
        operations: Operations,
        service: F,
    ) -> CliResult<Fronts>
    where
        S: FrontService,
        F: FnOnce(Arc<Operations>, SocketAddr) -> S,
    {
        let config = self.config(base)?;
        let listener = bind(listen).await?;
        let addr = listener
            .local_addr()
            .map_err(|err| CliError::bind(listen, &err))?;
        let metrics_listener = match self.metrics_listen {
            Some(metrics) => Some(bind(metrics).await?),
            None => None,
        };
        let metrics_counters = metrics_listener
            .as_ref()
            .map(|_| Arc::new(ConnectionCounters::default()));
        let mut operations = operations.front(name, Arc::clone(config.connection_counters()));
        if let Some(counters) = &metrics_counters {
            operations = operations.front("metrics", Arc::clone(counters));
        }
        let operations = Arc::new(operations);
        let metrics = metrics_listener
            .zip(metrics_counters)
            .map(|(listener, counters)| {
                let config = config.clone().counters(counters);
                front::serve(listener, Arc::clone(&operations).alone(), config)
            });
        let main = front::serve(listener, service(operations, addr), config);
        Ok(Fronts { main, metrics })
    }
}

/// A command's running fronts.
#[derive(Debug)]
pub struct Fronts {
    /// The one on `--listen`.
    pub main: Front,
    metrics: Option<Front>,
}

impl Fronts {
    /// Where the operations routes are, for the command's first report.
    pub fn operations_url(&self) -> String {
        self.metrics.as_ref().unwrap_or(&self.main).url("/metrics")
    }

    /// Stops both, waiting for requests in flight.
    pub async fn shutdown(self) {
        if let Some(metrics) = self.metrics {
            metrics.shutdown().await;
        }
        self.main.shutdown().await;
    }
}
