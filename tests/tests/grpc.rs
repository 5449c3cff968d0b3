//! The gRPC surface an operator's tools see: health, and server reflection in both versions
//! (grpcurl uses v1, some graphical clients v1alpha), listing certlog's services.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use certlog_tests::Log;
use tokio_stream::StreamExt as _;
use tonic_health::pb::health_check_response::ServingStatus;

const SERVICES: [&str; 4] = [
    "certlog.v1.CertificateLog",
    "certlog.v1.Admin",
    "grpc.health.v1.Health",
    "grpc.reflection.v1.ServerReflection",
];

async fn channel(log: &Log) -> tonic::transport::Channel {
    tonic::transport::Channel::from_shared(log.url())
        .unwrap()
        .connect()
        .await
        .unwrap()
}

#[tokio::test]
async fn reflection_lists_the_services_in_v1_and_v1alpha() {
    let log = Log::start();
    assert_eq!(
        log.health("certlog.v1.CertificateLog").await,
        ServingStatus::Serving as i32
    );

    use tonic_reflection::pb::v1::ServerReflectionRequest;
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut client = ServerReflectionClient::new(channel(&log).await);
    let mut answers = client
        .server_reflection_info(tokio_stream::iter([request.clone()]))
        .await
        .unwrap()
        .into_inner();
    let Some(MessageResponse::ListServicesResponse(list)) =
        answers.next().await.unwrap().unwrap().message_response
    else {
        panic!("no service list");
    };
    let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    for service in SERVICES {
        assert!(
            names.iter().any(|n| n == service),
            "{service} missing from {names:?}"
        );
    }
    // The schema of certlog's messages is there too, for grpcurl to encode requests.
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::FileContainingSymbol(
            "certlog.v1.ProofBundle".into(),
        )),
    };
    let mut answers = client
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .unwrap()
        .into_inner();
    assert!(matches!(
        answers.next().await.unwrap().unwrap().message_response,
        Some(MessageResponse::FileDescriptorResponse(_))
    ));

    use tonic_reflection::pb::v1alpha::server_reflection_client::ServerReflectionClient as AlphaClient;
    use tonic_reflection::pb::v1alpha::server_reflection_request::MessageRequest as AlphaRequest;
    use tonic_reflection::pb::v1alpha::server_reflection_response::MessageResponse as AlphaResponse;
    let mut alpha = AlphaClient::new(channel(&log).await);
    let request = tonic_reflection::pb::v1alpha::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(AlphaRequest::ListServices(String::new())),
    };
    let mut answers = alpha
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .unwrap()
        .into_inner();
    let Some(AlphaResponse::ListServicesResponse(list)) =
        answers.next().await.unwrap().unwrap().message_response
    else {
        panic!("no service list from v1alpha");
    };
    assert!(
        list.service
            .iter()
            .any(|s| s.name == "certlog.v1.CertificateLog")
    );
}
