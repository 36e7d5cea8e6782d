// Command etcd is the upstream etcd server, built from its Go module so the
// sandbox needs no download site: a main that hands over to etcdmain, exactly
// as etcd's own binary does.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
