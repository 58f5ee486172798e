// A minimal CRI runtime in its own process, for the client's reconnection
// test: gRPC behaves differently when the server does not share the client's
// process (nothing else polls the client's sockets).
//
//   cri_test_runtime_server /tmp/dir/cri.sock   # serves until SIGTERM/SIGINT
//
// Prints "serving" on stdout once it accepts calls.
#include <grpcpp/grpcpp.h>
#include <signal.h>

#include <cstdio>
#include <string>

#include "cri/proto/runtime_v1.grpc.pb.h"

namespace {

class VersionOnly final : public runtime::v1::RuntimeService::Service {
  grpc::Status Version(grpc::ServerContext*, const runtime::v1::VersionRequest*,
                       runtime::v1::VersionResponse* response) override {
    response->set_runtime_name("test-runtime-server");
    response->set_runtime_api_version("v1");
    return grpc::Status::OK;
  }
};

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s SOCKET_PATH\n", argv[0]);
    return 2;
  }
  // Block the stop signals before gRPC starts its threads, so that only
  // sigwait() below receives them.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);

  VersionOnly service;
  grpc::ServerBuilder builder;
  builder.AddListeningPort(std::string("unix://") + argv[1], grpc::InsecureServerCredentials());
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr) {
    std::fprintf(stderr, "cannot listen on %s\n", argv[1]);
    return 1;
  }
  std::printf("serving\n");
  std::fflush(stdout);
  int signal = 0;
  sigwait(&stop, &signal);
  server->Shutdown();
  return 0;
}
