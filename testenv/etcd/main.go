// Command etcd is the etcd server at the release that k8s.io/kubernetes pins,
// built from its Go module so that testenv needs no downloaded binary.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
