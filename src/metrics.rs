//! Prometheus metrics. One registry per app instance (tests run many apps in one process), with
//! low-cardinality labels only: route templates, status codes, endpoint names and outcome words,
//! never ids or tokens.

use std::time::Duration;

use prometheus::core::Collector;
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
    /// Calls refused for a wrong or missing key, by key: see [`Metrics::wrong_key`].
    wrong_key: IntCounterVec,
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
    /// Every metric is declared once: built and registered by the same call.
    pub(crate) fn new() -> Metrics {
        let registry =
            Registry::new_custom(Some("igauth".into()), None).expect("a constant prefix is valid");
        let r = Register(&registry);
        r.gauges("build_info", "Build information", &["version"])
            .with_label_values(&[env!("CARGO_PKG_VERSION")])
            .set(1);
        Metrics {
            http_requests: r.counters(
                "http_requests_total",
                "HTTP requests by route and status",
                &["route", "status"],
            ),
            http_duration: r.histograms(
                "http_request_duration_seconds",
                "HTTP request latency",
                &["route"],
            ),
            upstream_requests: r.counters(
                "upstream_requests_total",
                "Calls to Instagram by endpoint and outcome",
                &["endpoint", "outcome"],
            ),
            upstream_duration: r.histograms(
                "upstream_request_duration_seconds",
                "Instagram call latency",
                &["endpoint"],
            ),
            cache_hits: r.counter("cache_hits_total", "Validations answered from cache"),
            cache_misses: r.counter(
                "cache_misses_total",
                "Validations that had to ask Instagram",
            ),
            cache_entries: r.gauge("cache_entries", "Verdicts held in the local cache"),
            singleflight_joins: r.counter(
                "singleflight_joins_total",
                "Validations that waited for an identical in-flight call instead of making one",
            ),
            shared_cache_errors: r.counters(
                "shared_cache_errors_total",
                "Shared (Redis) cache operations that failed or timed out and fell back",
                &["op"],
            ),
            shared_cache_rejected: r.counter(
                "shared_cache_rejected_total",
                "Values read from Redis that igauth did not seal (forged, copied or from another secret), ignored like misses",
            ),
            rate_limited: r.counters(
                "rate_limited_total",
                "Requests refused by the per-client rate limit",
                &["route"],
            ),
            wrong_key: r.counters(
                "wrong_key_total",
                "Calls refused for a wrong or missing key (api_key, webhook_key)",
                &["key"],
            ),
            breaker_state: r.gauge(
                "upstream_breaker_state",
                "Circuit breaker: 0 closed, 1 open, 2 half-open",
            ),
            meta_callbacks: r.counters(
                "meta_callbacks_total",
                "Meta's deauthorize and data-deletion callbacks by route and outcome",
                &["route", "outcome"],
            ),
            meta_deletions_pending: r.gauge(
                "meta_deletions_pending",
                "Data deletions recorded but not finished yet, as of the last sweep",
            ),
            meta_deletions_failed: r.counter(
                "meta_deletions_failed_total",
                "Data deletions still failing a day after they came, given up",
            ),
            parse_actions: r.counters(
                "parse_actions_total",
                "Calls to Parse Server's REST API by kind and result",
                &["kind", "result"],
            ),
            registry,
        }
    }

    /// A call refused for a wrong or missing key (`api_key`, `webhook_key`).
    pub(crate) fn wrong_key(&self, key: &str) {
        self.wrong_key.with_label_values(&[key]).inc();
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

/// Builds a metric and registers it in one step, so each is named once.
struct Register<'a>(&'a Registry);

impl Register<'_> {
    fn add<C: Collector + Clone + 'static>(&self, built: prometheus::Result<C>) -> C {
        let metric = built.expect("valid metric");
        // Metrics are handles to shared values: the registry's copy and ours count together.
        self.0
            .register(Box::new(metric.clone()))
            .expect("metric names are unique");
        metric
    }

    fn counter(&self, name: &str, help: &str) -> IntCounter {
        self.add(IntCounter::new(name, help))
    }

    fn counters(&self, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
        self.add(IntCounterVec::new(Opts::new(name, help), labels))
    }

    fn gauge(&self, name: &str, help: &str) -> IntGauge {
        self.add(IntGauge::new(name, help))
    }

    fn gauges(&self, name: &str, help: &str, labels: &[&str]) -> IntGaugeVec {
        self.add(IntGaugeVec::new(Opts::new(name, help), labels))
    }

    fn histograms(&self, name: &str, help: &str, labels: &[&str]) -> HistogramVec {
        let opts = HistogramOpts::new(name, help).buckets(BUCKETS.to_vec());
        self.add(HistogramVec::new(opts, labels))
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
