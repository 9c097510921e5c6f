//! Prometheus metrics. One registry per app instance (tests run many apps in one process), with
//! low-cardinality labels only: route templates, status codes, endpoint names and outcome words,
//! never ids or tokens.

use std::time::Duration;

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder,
};

pub(crate) struct Metrics {
    registry: Registry,
    http_requests: IntCounterVec,
    http_duration: HistogramVec,
    upstream_requests: IntCounterVec,
    upstream_duration: HistogramVec,
    pub(crate) cache_hits: IntCounter,
    pub(crate) cache_misses: IntCounter,
    pub(crate) cache_entries: IntGauge,
    pub(crate) singleflight_joins: IntCounter,
    pub(crate) shared_cache_errors: IntCounterVec,
    pub(crate) shared_cache_rejected: IntCounter,
    pub(crate) rate_limited: IntCounterVec,
    /// Calls refused for a wrong or missing key, by key (`api_key`, `webhook_key`).
    pub(crate) wrong_key: IntCounterVec,
    pub(crate) breaker_state: IntGauge,
    meta_callbacks: IntCounterVec,
    meta_deletions_pending: IntGauge,
    meta_deletions_failed: IntCounter,
    parse_actions: IntCounterVec,
}

/// Latency buckets from a cache hit (sub-millisecond) to a slow upstream (seconds).
const BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

impl Metrics {
    pub(crate) fn new() -> Metrics {
        let registry =
            Registry::new_custom(Some("igauth".into()), None).expect("a constant prefix is valid");
        let m = Metrics {
            http_requests: IntCounterVec::new(
                Opts::new("http_requests_total", "HTTP requests by route and status"),
                &["route", "status"],
            )
            .expect("valid metric"),
            http_duration: HistogramVec::new(
                HistogramOpts::new("http_request_duration_seconds", "HTTP request latency")
                    .buckets(BUCKETS.to_vec()),
                &["route"],
            )
            .expect("valid metric"),
            upstream_requests: IntCounterVec::new(
                Opts::new(
                    "upstream_requests_total",
                    "Calls to Instagram by endpoint and outcome",
                ),
                &["endpoint", "outcome"],
            )
            .expect("valid metric"),
            upstream_duration: HistogramVec::new(
                HistogramOpts::new(
                    "upstream_request_duration_seconds",
                    "Instagram call latency",
                )
                .buckets(BUCKETS.to_vec()),
                &["endpoint"],
            )
            .expect("valid metric"),
            cache_hits: IntCounter::new("cache_hits_total", "Validations answered from cache")
                .expect("valid metric"),
            cache_misses: IntCounter::new(
                "cache_misses_total",
                "Validations that had to ask Instagram",
            )
            .expect("valid metric"),
            cache_entries: IntGauge::new("cache_entries", "Verdicts held in the local cache")
                .expect("valid metric"),
            singleflight_joins: IntCounter::new(
                "singleflight_joins_total",
                "Validations that waited for an identical in-flight call instead of making one",
            )
            .expect("valid metric"),
            shared_cache_errors: IntCounterVec::new(
                Opts::new(
                    "shared_cache_errors_total",
                    "Shared (Redis) cache operations that failed or timed out and fell back",
                ),
                &["op"],
            )
            .expect("valid metric"),
            shared_cache_rejected: IntCounter::new(
                "shared_cache_rejected_total",
                "Values read from Redis that igauth did not seal (forged, copied or from another secret), ignored like misses",
            )
            .expect("valid metric"),
            rate_limited: IntCounterVec::new(
                Opts::new(
                    "rate_limited_total",
                    "Requests refused by the per-client rate limit",
                ),
                &["route"],
            )
            .expect("valid metric"),
            wrong_key: IntCounterVec::new(
                Opts::new(
                    "wrong_key_total",
                    "Calls refused for a wrong or missing key (api_key, webhook_key)",
                ),
                &["key"],
            )
            .expect("valid metric"),
            breaker_state: IntGauge::new(
                "upstream_breaker_state",
                "Circuit breaker: 0 closed, 1 open, 2 half-open",
            )
            .expect("valid metric"),
            meta_callbacks: IntCounterVec::new(
                Opts::new(
                    "meta_callbacks_total",
                    "Meta's deauthorize and data-deletion callbacks by route and outcome",
                ),
                &["route", "outcome"],
            )
            .expect("valid metric"),
            meta_deletions_pending: IntGauge::new(
                "meta_deletions_pending",
                "Data deletions recorded but not finished yet, as of the last sweep",
            )
            .expect("valid metric"),
            meta_deletions_failed: IntCounter::new(
                "meta_deletions_failed_total",
                "Data deletions still failing a day after they came, given up",
            )
            .expect("valid metric"),
            parse_actions: IntCounterVec::new(
                Opts::new(
                    "parse_actions_total",
                    "Calls to Parse Server's REST API by kind and result",
                ),
                &["kind", "result"],
            )
            .expect("valid metric"),
            registry,
        };
        let build_info =
            IntGaugeVec::new(Opts::new("build_info", "Build information"), &["version"])
                .expect("valid metric");
        build_info
            .with_label_values(&[env!("CARGO_PKG_VERSION")])
            .set(1);
        let collectors: Vec<Box<dyn prometheus::core::Collector>> = vec![
            Box::new(m.http_requests.clone()),
            Box::new(m.http_duration.clone()),
            Box::new(m.upstream_requests.clone()),
            Box::new(m.upstream_duration.clone()),
            Box::new(m.cache_hits.clone()),
            Box::new(m.cache_misses.clone()),
            Box::new(m.cache_entries.clone()),
            Box::new(m.singleflight_joins.clone()),
            Box::new(m.shared_cache_errors.clone()),
            Box::new(m.shared_cache_rejected.clone()),
            Box::new(m.rate_limited.clone()),
            Box::new(m.wrong_key.clone()),
            Box::new(m.breaker_state.clone()),
            Box::new(m.meta_callbacks.clone()),
            Box::new(m.meta_deletions_pending.clone()),
            Box::new(m.meta_deletions_failed.clone()),
            Box::new(m.parse_actions.clone()),
            Box::new(build_info),
        ];
        for c in collectors {
            m.registry.register(c).expect("metric names are unique");
        }
        m
    }

    pub(crate) fn request(&self, route: &str, status: u16, elapsed: Duration) {
        let buf = itoa_status(status);
        let status = std::str::from_utf8(&buf).unwrap_or("0");
        self.http_requests.with_label_values(&[route, status]).inc();
        self.http_duration
            .with_label_values(&[route])
            .observe(elapsed.as_secs_f64());
    }

    pub(crate) fn upstream_outcome(
        &self,
        endpoint: &str,
        outcome: &str,
        elapsed: Option<Duration>,
    ) {
        self.upstream_requests
            .with_label_values(&[endpoint, outcome])
            .inc();
        if let Some(elapsed) = elapsed {
            self.upstream_duration
                .with_label_values(&[endpoint])
                .observe(elapsed.as_secs_f64());
        }
    }

    /// One Meta callback (`deauthorize`, `data_deletion`) and how it ended (`completed`,
    /// `no_data`, `failed`, `invalid`, `not_configured`).
    pub(crate) fn meta_callback(&self, route: &str, outcome: &str) {
        self.meta_callbacks
            .with_label_values(&[route, outcome])
            .inc();
    }

    /// One Parse REST call (`find_users`, `delete_user`, `function`, ...) and its result.
    pub(crate) fn meta_deletions_pending(&self, waiting: usize) {
        self.meta_deletions_pending
            .set(i64::try_from(waiting).unwrap_or(i64::MAX));
    }

    pub(crate) fn meta_deletion_gave_up(&self) {
        self.meta_deletions_failed.inc();
    }

    pub(crate) fn parse_action(&self, kind: &str, result: &str) {
        self.parse_actions.with_label_values(&[kind, result]).inc();
    }

    /// The Prometheus text exposition of everything registered.
    pub(crate) fn render(&self) -> String {
        let mut out = Vec::new();
        // Encoding into a Vec cannot fail for well-formed metrics.
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut out);
        String::from_utf8(out).unwrap_or_default()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

/// Status codes as label text without allocating on every request.
fn itoa_status(status: u16) -> [u8; 3] {
    let s = status.min(999);
    [
        b'0' + (s / 100) as u8,
        b'0' + (s / 10 % 10) as u8,
        b'0' + (s % 10) as u8,
    ]
}
