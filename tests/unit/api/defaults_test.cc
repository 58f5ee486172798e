#include "api/defaults.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace kubenode::api {
namespace {

TEST(DefaultsTest, PodGetsWhatTheApiServerSets) {
  Pod pod;
  Container& c = pod.spec.containers.emplace_back();
  c.name = "web";
  c.image = "busybox";
  c.ports.push_back(ContainerPort{.containerPort = 80});
  c.env.push_back(
      EnvVar{.name = "NODE",
             .valueFrom = EnvVarSource{ObjectFieldSelector{.fieldPath = "spec.nodeName"}}});
  c.livenessProbe = Probe{.httpGet = HTTPGetAction{.port = IntOrString::fromInt(80)}};
  c.readinessProbe = Probe{.exec = ExecAction{{"true"}}, .periodSeconds = 3};
  c.lifecycle = Lifecycle{
      .preStop = LifecycleHandler{.httpGet = HTTPGetAction{.port = IntOrString::fromInt(80)}}};
  c.resources.limits["cpu"] = Quantity::parse("1").value();
  c.resources.limits["memory"] = Quantity::parse("64Mi").value();
  c.resources.requests["cpu"] = Quantity::parse("100m").value();
  pod.spec.initContainers.push_back(Container{.name = "init", .image = "busybox:1.36"});
  pod.spec.volumes.push_back(Volume{.name = "h", .hostPath = HostPathVolumeSource{.path = "/x"}});
  pod.spec.volumes.push_back(Volume{.name = "e", .emptyDir = EmptyDirVolumeSource{}});

  applyDefaults(pod);

  EXPECT_EQ(pod.spec.restartPolicy, "Always");
  EXPECT_EQ(pod.spec.dnsPolicy, "ClusterFirst");
  EXPECT_EQ(pod.spec.terminationGracePeriodSeconds, 30);
  EXPECT_EQ(pod.spec.schedulerName, "default-scheduler");
  EXPECT_TRUE(pod.spec.securityContext.has_value());
  const Container& d = pod.spec.containers[0];
  EXPECT_EQ(d.imagePullPolicy, "Always");
  EXPECT_EQ(d.terminationMessagePath, "/dev/termination-log");
  EXPECT_EQ(d.terminationMessagePolicy, "File");
  EXPECT_EQ(d.ports[0].protocol, "TCP");
  EXPECT_EQ(d.ports[0].hostPort, 0);
  EXPECT_EQ(d.env[0].valueFrom->fieldRef->apiVersion, "v1");
  EXPECT_EQ(d.livenessProbe->periodSeconds, 10);
  EXPECT_EQ(d.livenessProbe->timeoutSeconds, 1);
  EXPECT_EQ(d.livenessProbe->successThreshold, 1);
  EXPECT_EQ(d.livenessProbe->failureThreshold, 3);
  EXPECT_EQ(d.livenessProbe->httpGet->path, "/");
  EXPECT_EQ(d.livenessProbe->httpGet->scheme, "HTTP");
  EXPECT_EQ(d.readinessProbe->periodSeconds, 3);  // set values are kept
  EXPECT_EQ(d.lifecycle->preStop->httpGet->path, "/");
  EXPECT_EQ(d.resources.requests.at("cpu").toString(), "100m");     // kept
  EXPECT_EQ(d.resources.requests.at("memory").toString(), "64Mi");  // from the limit
  EXPECT_EQ(pod.spec.initContainers[0].imagePullPolicy, "IfNotPresent");
  EXPECT_EQ(pod.spec.volumes[0].hostPath->type, "");
  EXPECT_EQ(pod.metadata.namespace_, "");  // not the API server's defaulting

  Pod again = pod;
  applyDefaults(again);
  EXPECT_EQ(again, pod);  // idempotent
}

TEST(DefaultsTest, HostNetworkCopiesContainerPortToHostPort) {
  Pod pod;
  pod.spec.hostNetwork = true;
  pod.spec.containers.push_back(
      Container{.name = "a", .image = "b", .ports = {ContainerPort{.containerPort = 8080}}});
  applyDefaults(pod);
  EXPECT_EQ(pod.spec.containers[0].ports[0].hostPort, 8080);
}

TEST(DefaultsTest, ImagePullPolicyFromTheTag) {
  EXPECT_EQ(defaultImagePullPolicy("busybox"), "Always");
  EXPECT_EQ(defaultImagePullPolicy("busybox:latest"), "Always");
  EXPECT_EQ(defaultImagePullPolicy("busybox:1.36"), "IfNotPresent");
  EXPECT_EQ(defaultImagePullPolicy("localhost:5000/pause"), "Always");
  EXPECT_EQ(defaultImagePullPolicy("localhost:5000/pause:3.9"), "IfNotPresent");
  EXPECT_EQ(defaultImagePullPolicy("busybox@sha256:0123abcd"), "IfNotPresent");
  EXPECT_EQ(defaultImagePullPolicy("busybox:latest@sha256:0123abcd"), "IfNotPresent");
}

TEST(DefaultsTest, ServiceGetsWhatTheApiServerSets) {
  Service svc;
  svc.spec.clusterIP = "10.96.0.10";
  svc.spec.ports.push_back(ServicePort{.port = 80});
  svc.spec.ports.push_back(ServicePort{.port = 53, .targetPort = IntOrString::fromString("dns")});
  applyDefaults(svc);
  EXPECT_EQ(svc.spec.type, "ClusterIP");
  EXPECT_EQ(svc.spec.sessionAffinity, "None");
  EXPECT_FALSE(svc.spec.sessionAffinityConfig.has_value());
  EXPECT_EQ(svc.spec.ports[0].protocol, "TCP");
  EXPECT_EQ(svc.spec.ports[0].targetPort, IntOrString::fromInt(80));
  EXPECT_EQ(svc.spec.ports[1].targetPort, IntOrString::fromString("dns"));
  EXPECT_THAT(svc.spec.clusterIPs, testing::ElementsAre("10.96.0.10"));
  EXPECT_EQ(svc.spec.internalTrafficPolicy, "Cluster");
  EXPECT_EQ(svc.spec.externalTrafficPolicy, "");  // only for NodePort / LoadBalancer

  Service np;
  np.spec.type = "NodePort";
  np.spec.sessionAffinity = "ClientIP";
  applyDefaults(np);
  EXPECT_EQ(np.spec.externalTrafficPolicy, "Cluster");
  EXPECT_EQ(np.spec.sessionAffinityConfig->clientIP->timeoutSeconds, 10800);

  Service ext;
  ext.spec.type = "ExternalName";
  applyDefaults(ext);
  EXPECT_FALSE(ext.spec.internalTrafficPolicy.has_value());
}

TEST(DefaultsTest, EndpointSlicePortsAndNamespaceHelper) {
  EndpointSlice s;
  s.ports.push_back(EndpointPort{.port = 80});
  applyDefaults(s);
  EXPECT_EQ(s.ports[0].protocol, "TCP");
  EXPECT_EQ(s.ports[0].name, "");

  ObjectMeta m;
  defaultNamespace(m);
  EXPECT_EQ(m.namespace_, "default");
  m.namespace_ = "prod";
  defaultNamespace(m);
  EXPECT_EQ(m.namespace_, "prod");
}

}  // namespace
}  // namespace kubenode::api
