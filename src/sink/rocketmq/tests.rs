use super::names;
use super::RocketmqSinkConfig;
use std::time::Duration;

#[test]
fn topic_names_keep_what_rocketmq_takes_and_replace_the_rest() {
    assert_eq!(names::topic("shop.orders").unwrap(), "shop_orders");
    assert_eq!(names::topic("ferry-shop.orders_v2").unwrap(), "ferry-shop_orders_v2");
    assert_eq!(names::topic("a%b|c").unwrap(), "a%b|c");
    assert_eq!(names::topic("db.表").unwrap(), "db__");
    assert!(names::topic(&"x".repeat(127)).is_ok());
    let long = names::topic(&"x".repeat(128)).unwrap_err();
    assert!(long.contains("at most 127"), "{long}");
}

fn config() -> RocketmqSinkConfig {
    RocketmqSinkConfig {
        name_server: "127.0.0.1:9876;ns2:9876".into(),
        producer_group: "FERRY".into(),
        credentials: None,
        tag: "default_tag".into(),
        send_timeout: Duration::from_secs(3),
        dead_letter_topic: None,
    }
}

#[test]
fn settings_are_checked_each_with_its_reason() {
    assert_eq!(config().validate(), Ok(()));
    let bad = |f: fn(&mut RocketmqSinkConfig)| {
        let mut c = config();
        f(&mut c);
        c.validate().unwrap_err()
    };
    assert!(bad(|c| c.name_server = "localhost".into()).contains("host:port"));
    assert!(bad(|c| c.name_server = "a:1;;b:2".into()).contains("host:port"));
    assert!(bad(|c| c.producer_group = "FERRY GROUP".into()).contains("producer_group"));
    assert!(bad(|c| c.tag = "a||b".into()).contains("tag"));
    assert!(bad(|c| c.credentials = Some(("ak".into(), String::new()))).contains("secret_key"));
    assert!(bad(|c| c.send_timeout = Duration::ZERO).contains("send_timeout_ms"));
}

#[test]
fn the_secret_key_is_never_printed() {
    let mut c = config();
    c.credentials = Some(("AK1".into(), "very-secret".into()));
    let shown = format!("{c:?}");
    assert!(shown.contains("AK1") && !shown.contains("very-secret"), "{shown}");
}
