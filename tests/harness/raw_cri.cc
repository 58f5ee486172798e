#include "tests/harness/raw_cri.h"

#include <google/protobuf/unknown_field_set.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/channel_arguments.h>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace kubenode::harness {
namespace {

using google::protobuf::UnknownField;
using google::protobuf::UnknownFieldSet;

constexpr char kRuntimeService[] = "/runtime.v1.RuntimeService/";
constexpr char kImageService[] = "/runtime.v1.ImageService/";

// A message with one string field, e.g. StopPodSandboxRequest{pod_sandbox_id = 1}.
std::string encodeString(int field, const std::string& value) {
  UnknownFieldSet message;
  message.AddLengthDelimited(field, value);
  std::string out;
  message.SerializeToString(&out);
  return out;
}

// The length-delimited fields numbered `field` of an encoded message.
std::vector<std::string> submessages(const std::string& encoded, int field) {
  std::vector<std::string> out;
  UnknownFieldSet message;
  if (!message.ParseFromString(encoded)) {
    return out;
  }
  for (int i = 0; i < message.field_count(); ++i) {
    const UnknownField& f = message.field(i);
    if (f.number() == field && f.type() == UnknownField::TYPE_LENGTH_DELIMITED) {
      out.push_back(f.length_delimited());
    }
  }
  return out;
}

std::string firstString(const std::string& encoded, int field) {
  std::vector<std::string> values = submessages(encoded, field);
  return values.empty() ? std::string() : values.front();
}

bool boolField(const std::string& encoded, int field) {
  UnknownFieldSet message;
  if (!message.ParseFromString(encoded)) {
    return false;
  }
  for (int i = 0; i < message.field_count(); ++i) {
    const UnknownField& f = message.field(i);
    if (f.number() == field && f.type() == UnknownField::TYPE_VARINT) {
      return f.varint() != 0;
    }
  }
  return false;
}

}  // namespace

RawCri::RawCri(const std::string& socket_path) {
  grpc::ChannelArguments args;
  // containerd restarts within a test: retry the connection within tens of milliseconds,
  // not gRPC's default one second and more. (GRPC_ARG_MIN_RECONNECT_BACKOFF_MS is left at
  // its default: despite its name it is the minimum time a connection attempt may take.)
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 20);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 200);
  // Not gRPC's process-wide subchannel pool: a new RawCri must not inherit the back-off of
  // an old one's connection to a containerd that has since been restarted.
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  channel_ =
      grpc::CreateCustomChannel("unix://" + socket_path, grpc::InsecureChannelCredentials(), args);
}

absl::StatusOr<std::string> RawCri::call(const std::string& method, const std::string& request,
                                         absl::Duration timeout) {
  grpc::GenericStub stub(channel_);
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  grpc::Slice slice(request.data(), request.size());
  grpc::ByteBuffer request_buffer(&slice, 1);
  grpc::ByteBuffer response_buffer;
  grpc::Status status;
  grpc::CompletionQueue queue;
  std::unique_ptr<grpc::GenericClientAsyncResponseReader> reader =
      stub.PrepareUnaryCall(&context, method, request_buffer, &queue);
  reader->StartCall();
  reader->Finish(&response_buffer, &status, reinterpret_cast<void*>(1));
  void* tag = nullptr;
  bool ok = false;
  queue.Next(&tag, &ok);
  queue.Shutdown();
  while (queue.Next(&tag, &ok)) {
  }
  if (!status.ok()) {
    return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                        absl::StrCat(method, ": ", status.error_message()));
  }
  std::vector<grpc::Slice> slices;
  std::string response;
  if (response_buffer.Dump(&slices).ok()) {
    for (const grpc::Slice& s : slices) {
      response.append(reinterpret_cast<const char*>(s.begin()), s.size());
    }
  }
  return response;
}

absl::Status RawCri::ready(absl::Duration timeout) {
  // StatusResponse{status = 1: RuntimeStatus{conditions = 1: RuntimeCondition{type = 1,
  // status = 2, reason = 3, message = 4}}}
  absl::StatusOr<std::string> response = call(absl::StrCat(kRuntimeService, "Status"), "", timeout);
  if (!response.ok()) {
    return response.status();
  }
  bool runtime_ready = false;
  bool network_ready = false;
  std::string not_ready;
  for (const std::string& condition : submessages(firstString(*response, 1), 1)) {
    const std::string type = firstString(condition, 1);
    const bool status = boolField(condition, 2);
    if (type == "RuntimeReady") {
      runtime_ready = status;
    } else if (type == "NetworkReady") {
      network_ready = status;
    }
    if (!status) {
      absl::StrAppend(&not_ready, type, " is false (", firstString(condition, 3), ": ",
                      firstString(condition, 4), ") ");
    }
  }
  if (runtime_ready && network_ready) {
    return absl::OkStatus();
  }
  return absl::FailedPreconditionError(
      not_ready.empty() ? "CRI Status reported no RuntimeReady/NetworkReady condition" : not_ready);
}

absl::Status RawCri::hasImage(const std::string& image, absl::Duration timeout) {
  // ImageStatusRequest{image = 1: ImageSpec{image = 1}} -> ImageStatusResponse{image = 1}
  absl::StatusOr<std::string> response = call(absl::StrCat(kImageService, "ImageStatus"),
                                              encodeString(1, encodeString(1, image)), timeout);
  if (!response.ok()) {
    return response.status();
  }
  if (submessages(*response, 1).empty()) {
    return absl::NotFoundError(absl::StrCat("CRI does not know image ", image));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> RawCri::listSandboxIds(absl::Duration timeout) {
  // ListPodSandboxResponse{items = 1: PodSandbox{id = 1}}
  absl::StatusOr<std::string> response =
      call(absl::StrCat(kRuntimeService, "ListPodSandbox"), "", timeout);
  if (!response.ok()) {
    return response.status();
  }
  std::vector<std::string> ids;
  for (const std::string& sandbox : submessages(*response, 1)) {
    ids.push_back(firstString(sandbox, 1));
  }
  return ids;
}

absl::Status RawCri::stopSandbox(const std::string& id, absl::Duration timeout) {
  return call(absl::StrCat(kRuntimeService, "StopPodSandbox"), encodeString(1, id), timeout)
      .status();
}

absl::Status RawCri::removeSandbox(const std::string& id, absl::Duration timeout) {
  return call(absl::StrCat(kRuntimeService, "RemovePodSandbox"), encodeString(1, id), timeout)
      .status();
}

}  // namespace kubenode::harness
