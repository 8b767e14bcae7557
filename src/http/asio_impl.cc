// The one translation unit that compiles Boost.Asio and Boost.Beast.
//
// The top-level CMakeLists defines BOOST_ASIO_SEPARATE_COMPILATION and
// BOOST_BEAST_SEPARATE_COMPILATION for every file, so the other files that use
// Asio or Beast only instantiate templates; their non-template code is built
// here once instead of in each of them, which keeps builds and binaries small.
// Asio's SSL support (OpenSSL) is compiled here too, for the client's TLS.
#include <boost/asio/impl/src.hpp>
#include <boost/asio/ssl/impl/src.hpp>
#include <boost/beast/src.hpp>
