#include <gtest/gtest.h>

#include <utility>

#include "store/hdf5_handle.hpp"
#include "support/temp_dir.hpp"

namespace mpiq::store {
namespace {

TEST(Hdf5Error, FailedCallThrowsWithTheCallNameAndHdf5Stack) {
  silence_hdf5_error_printing();
  mpiq::test::TempDir dir;
  const std::string path = dir.file("absent.h5");
  try {
    check_h5(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), "H5Fopen");
    FAIL() << "H5Fopen of a missing file succeeded";
  } catch (const Hdf5Error& e) {
    EXPECT_EQ(e.call(), "H5Fopen");
    EXPECT_EQ(std::string(e.what()).rfind("H5Fopen failed: ", 0), 0u) << e.what();
    EXPECT_NE(e.stack().find("H5Fopen"), std::string::npos) << e.stack();
  }
  // The stack was cleared: the next failure reports only its own entries.
  try {
    check_h5(H5Tclose(H5I_INVALID_HID), "H5Tclose");
    FAIL() << "H5Tclose of an invalid id succeeded";
  } catch (const Hdf5Error& e) {
    EXPECT_EQ(e.call(), "H5Tclose");
    EXPECT_NE(e.stack().find("H5Tclose"), std::string::npos) << e.stack();
    EXPECT_EQ(e.stack().find("H5Fopen"), std::string::npos) << e.stack();
  }
}

TEST(Hdf5Error, ValidResultsPassThrough) {
  EXPECT_EQ(check_h5(herr_t{0}, "H5Dwrite"), 0);
  EXPECT_EQ(check_h5(herr_t{1}, "H5Tequal"), 1);
  const hid_t space = check_h5(H5Screate(H5S_SCALAR), "H5Screate");
  EXPECT_GE(space, 0);
  H5Sclose(space);
}

TEST(Hdf5Handle, ClosesItsIdOnceAndMovesOwnership) {
  hid_t id;
  {
    H5Dataspace a(check_h5(H5Screate(H5S_SCALAR), "H5Screate"));
    id = a.get();
    EXPECT_GT(H5Iis_valid(id), 0);
    H5Dataspace b(std::move(a));
    EXPECT_FALSE(a);
    EXPECT_EQ(b.get(), id);
    H5Dataspace c;
    c = std::move(b);
    EXPECT_EQ(c.get(), id);
    EXPECT_GT(H5Iis_valid(id), 0);
  }
  EXPECT_LE(H5Iis_valid(id), 0);
}

TEST(Hdf5Handle, ExplicitCloseReleasesNowAndAgainIsHarmless) {
  H5Type type(check_h5(H5Tcopy(H5T_NATIVE_INT), "H5Tcopy"));
  const hid_t id = type.get();
  type.close();
  EXPECT_FALSE(type);
  EXPECT_LE(H5Iis_valid(id), 0);
  type.close();
}

}  // namespace
}  // namespace mpiq::store
