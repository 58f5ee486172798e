#include "api/quantity.h"

#include <gtest/gtest.h>

#include <string>

namespace kubenode::api {
namespace {

struct CanonicalCase {
  std::string input;
  std::string canonical;
  int64_t value;
  int64_t milli;
};

class QuantityCanonicalTest : public testing::TestWithParam<CanonicalCase> {};

TEST_P(QuantityCanonicalTest, ParsesExactlyAndPrintsCanonicalForm) {
  const CanonicalCase& c = GetParam();
  absl::StatusOr<Quantity> q = Quantity::parse(c.input);
  ASSERT_TRUE(q.ok()) << c.input << ": " << q.status();
  EXPECT_EQ(q->toString(), c.canonical) << c.input;
  EXPECT_EQ(q->value(), c.value) << c.input;
  EXPECT_EQ(q->milliValue(), c.milli) << c.input;
  // The canonical form parses back to the same value and prints the same.
  absl::StatusOr<Quantity> again = Quantity::parse(q->toString());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *q);
  EXPECT_EQ(again->toString(), c.canonical);
}

INSTANTIATE_TEST_SUITE_P(
    Table, QuantityCanonicalTest,
    testing::Values(
        // Decimal SI.
        CanonicalCase{"100m", "100m", 1, 100}, CanonicalCase{"0.5", "500m", 1, 500},
        CanonicalCase{"1.5", "1500m", 2, 1500}, CanonicalCase{"1", "1", 1, 1000},
        CanonicalCase{"1000", "1k", 1000, 1000000}, CanonicalCase{"1000m", "1", 1, 1000},
        CanonicalCase{"12000", "12k", 12000, 12000000}, CanonicalCase{"1100m", "1100m", 2, 1100},
        CanonicalCase{"10k", "10k", 10000, 10000000},
        CanonicalCase{"1M", "1M", 1000000, 1000000000},
        CanonicalCase{"2G", "2G", 2000000000, 2000000000000},
        CanonicalCase{"1E", "1E", 1000000000000000000, 9223372036854775807},
        CanonicalCase{"1n", "1n", 1, 1}, CanonicalCase{"1u", "1u", 1, 1},
        CanonicalCase{"1500u", "1500u", 1, 2}, CanonicalCase{"0", "0", 0, 0},
        CanonicalCase{"0m", "0", 0, 0}, CanonicalCase{"-0", "0", 0, 0},
        CanonicalCase{"+5", "5", 5, 5000}, CanonicalCase{"-100m", "-100m", -1, -100},
        CanonicalCase{".5", "500m", 1, 500}, CanonicalCase{"5.", "5", 5, 5000},
        CanonicalCase{"007", "7", 7, 7000},
        // Precision finer than a nano-unit rounds up (away from zero).
        CanonicalCase{"0.0000000001", "1n", 1, 1},
        CanonicalCase{"0.30000000000000004", "300000001n", 1, 301},
        // Binary SI: the largest whole power of 1024; otherwise decimal.
        CanonicalCase{"64Mi", "64Mi", 67108864, 67108864000},
        CanonicalCase{"1.5Gi", "1536Mi", 1610612736, 1610612736000},
        CanonicalCase{"1024Ki", "1Mi", 1048576, 1048576000},
        CanonicalCase{"1Ki", "1Ki", 1024, 1024000}, CanonicalCase{"0.5Ki", "512", 512, 512000},
        CanonicalCase{"1025Ki", "1025Ki", 1049600, 1049600000},
        CanonicalCase{"0.9Gi", "966367641600m", 966367642, 966367641600},
        CanonicalCase{"2Ei", "2Ei", 2305843009213693952, 9223372036854775807},
        CanonicalCase{"1Ti", "1Ti", 1099511627776, 1099511627776000},
        CanonicalCase{"1Pi", "1Pi", 1125899906842624, 1125899906842624000},
        // Decimal exponent keeps its notation.
        CanonicalCase{"1e3", "1e3", 1000, 1000000}, CanonicalCase{"1E3", "1e3", 1000, 1000000},
        CanonicalCase{"1.5e3", "1500", 1500, 1500000}, CanonicalCase{"1e-3", "1e-3", 1, 1},
        CanonicalCase{"12e6", "12e6", 12000000, 12000000000},
        // Magnitudes above 2^63-1 are capped there, as apimachinery does.
        CanonicalCase{"99999999999999999999999", "9223372036854775807", 9223372036854775807,
                      9223372036854775807},
        CanonicalCase{"1e100", "9223372036854775807", 9223372036854775807, 9223372036854775807}));

class QuantityRejectTest : public testing::TestWithParam<std::string> {};

TEST_P(QuantityRejectTest, RejectsGarbageWithAClearMessage) {
  absl::StatusOr<Quantity> q = Quantity::parse(GetParam());
  ASSERT_FALSE(q.ok()) << GetParam() << " parsed as " << q->toString();
  EXPECT_EQ(q.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(q.status().message().find("quantity"), absl::string_view::npos) << q.status();
  EXPECT_NE(q.status().message().find("expected a number"), absl::string_view::npos) << q.status();
}

INSTANTIATE_TEST_SUITE_P(Table, QuantityRejectTest,
                         testing::Values("12x", "1.2.3", "", "Mi", "m", "-", "+", ".", "1 Mi", " 1",
                                         "1Mi ", "1mi", "1KI", "1e", "1e+", "1e1.5", "1ee3", "0x10",
                                         "1,5", "∞", "1Ki1", "--1", std::string(200, '9')));

TEST(QuantityTest, ErrorNamesTheProblem) {
  EXPECT_EQ(Quantity::parse("12x").status().message(),
            "quantity \"12x\" is invalid: unknown suffix \"x\" (expected a number with an "
            "optional suffix, e.g. 100m, 64Mi, 1.5Gi, 1e3)");
  EXPECT_NE(Quantity::parse("").status().message().find("it is empty"), absl::string_view::npos);
  EXPECT_NE(Quantity::parse("Mi").status().message().find("does not start with a number"),
            absl::string_view::npos);
}

TEST(QuantityTest, ComparesByValueAcrossFormats) {
  EXPECT_EQ(*Quantity::parse("1Ki"), *Quantity::parse("1024"));
  EXPECT_EQ(*Quantity::parse("1"), *Quantity::parse("1000m"));
  EXPECT_LT(*Quantity::parse("999m"), *Quantity::parse("1"));
  EXPECT_GT(*Quantity::parse("1Gi"), *Quantity::parse("1G"));
  EXPECT_LT(*Quantity::parse("-1"), *Quantity::parse("0"));
  EXPECT_EQ(*Quantity::parse("1e3"), *Quantity::parse("1k"));
}

TEST(QuantityTest, ConstructorsAndFormats) {
  EXPECT_EQ(Quantity::fromInt(1024, Quantity::Format::kBinarySI).toString(), "1Ki");
  EXPECT_EQ(Quantity::fromInt(1500).toString(), "1500");
  EXPECT_EQ(Quantity::fromMilli(250).toString(), "250m");
  EXPECT_EQ(Quantity::fromMilli(2000).toString(), "2");
  EXPECT_EQ(Quantity::parse("1Gi")->format(), Quantity::Format::kBinarySI);
  EXPECT_EQ(Quantity::parse("1e3")->format(), Quantity::Format::kDecimalExponent);
  EXPECT_TRUE(Quantity().isZero());
}

}  // namespace
}  // namespace kubenode::api
