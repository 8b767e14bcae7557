#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "agent/image/image_store.h"

namespace berth::agent {
namespace {

using ::testing::HasSubstr;

struct Valid {
  const char* image;
  const char* registry;
  const char* repository;
  const char* tag;
  const char* digest;
  const char* canonical;
};

TEST(ImageReferenceTest, ParsesWhatEcsAccepts) {
  const std::string d = "sha256:" + std::string(64, 'a');
  const Valid cases[] = {
      {"127.0.0.1:8080/train:1", "127.0.0.1:8080", "train", "1", "", "127.0.0.1:8080/train:1"},
      // No tag and no digest means "latest".
      {"localhost/train", "localhost", "train", "latest", "", "localhost/train:latest"},
      {"123456789012.dkr.ecr.us-west-2.amazonaws.com/neuron/pytorch-training:2.1.2-neuronx",
       "123456789012.dkr.ecr.us-west-2.amazonaws.com", "neuron/pytorch-training", "2.1.2-neuronx",
       "", "123456789012.dkr.ecr.us-west-2.amazonaws.com/neuron/pytorch-training:2.1.2-neuronx"},
      {"reg.example.com/a/b/c_d__e-f.g", "reg.example.com", "a/b/c_d__e-f.g", "latest", "",
       "reg.example.com/a/b/c_d__e-f.g:latest"},
      {"[::1]:5000/x:v1", "[::1]:5000", "x", "v1", "", "[::1]:5000/x:v1"},
  };
  for (const Valid& c : cases) {
    auto ref = ImageReference::Parse(c.image);
    ASSERT_TRUE(ref.ok()) << c.image << ": " << ref.status().ToString();
    EXPECT_EQ(ref->registry, c.registry);
    EXPECT_EQ(ref->repository, c.repository);
    EXPECT_EQ(ref->tag, c.tag);
    EXPECT_EQ(ref->digest, c.digest);
    EXPECT_EQ(ref->ToString(), c.canonical);
  }
}

TEST(ImageReferenceTest, DigestWithAndWithoutTag) {
  const std::string d = "sha256:" + std::string(64, 'a');
  auto by_digest = ImageReference::Parse("127.0.0.1:5000/train@" + d);
  ASSERT_TRUE(by_digest.ok()) << by_digest.status().ToString();
  EXPECT_EQ(by_digest->digest, d);
  EXPECT_EQ(by_digest->tag, "");
  EXPECT_EQ(by_digest->ToString(), "127.0.0.1:5000/train@" + d);

  auto both = ImageReference::Parse("127.0.0.1:5000/train:1@" + d);
  ASSERT_TRUE(both.ok());
  EXPECT_EQ(both->tag, "1");
  EXPECT_EQ(both->digest, d);
  EXPECT_EQ(both->ToString(), "127.0.0.1:5000/train:1@" + d);
}

TEST(ImageReferenceTest, RefusesNamesWithoutRegistry) {
  for (const char* image : {"train", "train:1", "library/ubuntu:22.04", "ubuntu"}) {
    auto ref = ImageReference::Parse(image);
    ASSERT_FALSE(ref.ok()) << image;
    EXPECT_THAT(ref.status().message(), HasSubstr("no registry host")) << image;
    EXPECT_THAT(ref.status().message(), HasSubstr(image));
  }
}

TEST(ImageReferenceTest, RefusesBadNamesWithClearMessages) {
  struct Bad {
    std::string image;
    const char* why;
  } cases[] = {
      {"", "empty"},
      {"127.0.0.1:8080/Train:1", "bad repository name \"Train\""},
      {"127.0.0.1:8080/a//b", "bad repository name"},
      {"127.0.0.1:8080/a-:1", "bad repository name"},
      {"127.0.0.1:8080/", "bad repository name"},
      {"127.0.0.1:8080/train:", "bad tag"},
      {"127.0.0.1:8080/train:-x", "bad tag"},
      {"127.0.0.1:8080/train:" + std::string(129, 'a'), "bad tag"},
      {"127.0.0.1:8080/train@sha256:abc", "bad digest"},
      {"127.0.0.1:8080/train@sha256:" + std::string(64, 'A'), "bad digest"},
      {"127.0.0.1:8080/train@md5:" + std::string(32, 'a'), "unsupported digest algorithm"},
      {"127.0.0.1:99999/train", "bad registry host"},
      {"bad_host.com/train", "bad registry host"},
      {"127.0.0.1:/train", "bad registry host"},
  };
  for (const Bad& c : cases) {
    auto ref = ImageReference::Parse(c.image);
    ASSERT_FALSE(ref.ok()) << c.image;
    EXPECT_EQ(ref.status().code(), StatusCode::kInvalidArgument);
    EXPECT_THAT(ref.status().message(), HasSubstr(c.why)) << c.image;
  }
}

}  // namespace
}  // namespace berth::agent
