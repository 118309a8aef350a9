// SPDX-License-Identifier: MIT
/*
 * Run under libuslab-malloc.so by tests/preload/test_preload.c: C++'s
 * new and delete (plain, array, aligned, nothrow) and the containers
 * reach the preloaded malloc through libstdc++.  Prints "done" and
 * exits 0 when every check passed.
 */
#include <malloc.h>

#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <new>
#include <string>
#include <thread>
#include <vector>

static int failed;

#define CHECK(cond)                                                     \
	do {                                                            \
		if (!(cond)) {                                          \
			failed++;                                       \
			std::printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, \
				    #cond);                             \
		}                                                       \
	} while (0)

struct alignas(256) Wide {
	char bytes[300];
};

int main()
{
	int *one = new int(42);
	// kmalloc-8: a size class, not a glibc chunk (24 usable bytes).
	CHECK(malloc_usable_size(one) == 8);
	delete one;

	char *arr = new char[100];
	CHECK(malloc_usable_size(arr) == 112); // malloc-112, not 104
	delete[] arr;

	Wide *w = new Wide[3];
	CHECK(reinterpret_cast<std::uintptr_t>(w) % 256 == 0);
	delete[] w;
	auto *nt = new (std::nothrow) Wide;
	CHECK(nt && reinterpret_cast<std::uintptr_t>(nt) % 256 == 0);
	delete nt;

	std::vector<std::thread> threads;
	for (int t = 0; t < 8; t++)
		threads.emplace_back([t] {
			std::map<int, std::string> m;
			std::vector<std::unique_ptr<int>> v;
			for (int i = 0; i < 20000; i++) {
				m[i % 977] = std::string(i % 300, 'a' + t);
				v.push_back(std::make_unique<int>(i));
			}
			for (int i = 0; i < 20000; i++)
				if (*v[i] != i)
					std::abort();
		});
	for (auto &th : threads)
		th.join();
	std::string s(1 << 22, 'x');
	CHECK(s.size() == (1u << 22) && s[12345] == 'x');
	std::printf("done\n");
	return failed ? 1 : 0;
}
