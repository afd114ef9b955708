// Command pulumi-resource-random is a small stand-in for the Pulumi random provider, serving
// two resources of the @pulumi/random SDK: RandomPassword (which this project uses) and
// RandomString.
//
// Why it exists: the real provider (github.com/pulumi/pulumi-random/provider/v4, a bridge over
// the Terraform random provider) is not served by the Go module proxy that this project can
// reach, in any version, and neither is a usable version of the Terraform provider. The engine
// picks the provider by the version the npm package declares, so this binary reports that
// version (set with -ldflags "-X main.version=...").
//
// It keeps the real provider's contract for those two resources: the same type tokens,
// property names, defaults and character sets; every input change replaces the resource; the
// result (and the password's bcryptHash) is computed once at create and then kept in state.
// Any other random resource fails with a clear error.
package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"math/big"
	"os"
	"time"

	"golang.org/x/crypto/bcrypt"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	pbempty "google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/cmdutil"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

// version is the provider version reported to the engine; set at build time.
var version = "dev"

const (
	passwordType = "random:index/randomPassword:RandomPassword"
	stringType   = "random:index/randomString:RandomString"
)

// Character sets of the Terraform random provider, which the real Pulumi provider wraps.
const (
	lowerChars   = "abcdefghijklmnopqrstuvwxyz"
	upperChars   = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	numericChars = "0123456789"
	specialChars = "!@#$%&*()-_=+[]{}<>:?"
)

// inputKeys are the resources' inputs: a change to any of them replaces the resource.
var inputKeys = []resource.PropertyKey{
	"keepers", "length", "lower", "minLower", "minNumeric", "minSpecial", "minUpper",
	"number", "numeric", "overrideSpecial", "special", "upper",
}

func main() {
	// The engine passes every plugin `--tracing ENDPOINT` when `pulumi --tracing` or
	// `--otel-traces` is given (and glog's -v and --logtostderr with --logflow).
	tracing := flag.String("tracing", "", "Emit tracing to a Zipkin-compatible tracing endpoint")
	flag.Parse()
	cmdutil.InitTracing("pulumi-resource-random", "pulumi-resource-random", *tracing)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// The engine passes its address as the only argument; exit when it stops answering
	// (checked every minute), as a killed `pulumi` leaves its plugins behind.
	if engine := flag.Arg(0); engine != "" {
		if err := rpcutil.Healthcheck(ctx, engine, time.Minute, cancel); err != nil {
			fatalf("could not start health check: %v", err)
		}
	}
	stop := make(chan bool)
	go func() {
		<-ctx.Done()
		close(stop)
	}()
	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Cancel: stop,
		Init: func(srv *grpc.Server) error {
			pulumirpc.RegisterResourceProviderServer(srv, &provider{})
			return nil
		},
		Options: rpcutil.OpenTracingServerInterceptorOptions(nil),
	})
	if err != nil {
		fatalf("could not start provider RPC server: %v", err)
	}
	// The engine reads the port from the first line of our stdout.
	fmt.Printf("%d\n", handle.Port)
	if err := <-handle.Done; err != nil {
		fatalf("provider RPC server stopped: %v", err)
	}
}

func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "pulumi-resource-random: "+format+"\n", args...)
	os.Exit(1)
}

type provider struct {
	pulumirpc.UnimplementedResourceProviderServer
}

// Secrets are not accepted (see Configure), so the engine strips them before calling us and
// marks the outputs again itself; unknown values only occur during previews.
var unmarshalOpts = plugin.MarshalOptions{KeepUnknowns: true, SkipNulls: true}

func unmarshal(s *structpb.Struct) (resource.PropertyMap, error) {
	return plugin.UnmarshalProperties(s, unmarshalOpts)
}

func marshal(m resource.PropertyMap) (*structpb.Struct, error) {
	return plugin.MarshalProperties(m, unmarshalOpts)
}

func checkType(t string) error {
	if t != passwordType && t != stringType {
		return status.Errorf(codes.InvalidArgument,
			"%s is not supported: this project's random provider only has RandomPassword and RandomString", t)
	}
	return nil
}

func (p *provider) GetPluginInfo(context.Context, *pbempty.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: version}, nil
}

func (p *provider) GetSchema(context.Context, *pulumirpc.GetSchemaRequest) (*pulumirpc.GetSchemaResponse, error) {
	return &pulumirpc.GetSchemaResponse{Schema: fmt.Sprintf(`{"name":"random","version":%q}`, version)}, nil
}

func (p *provider) CheckConfig(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	return &pulumirpc.CheckResponse{Inputs: req.GetNews()}, nil
}

func (p *provider) DiffConfig(context.Context, *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	return &pulumirpc.DiffResponse{Changes: pulumirpc.DiffResponse_DIFF_NONE}, nil
}

func (p *provider) Configure(context.Context, *pulumirpc.ConfigureRequest) (*pulumirpc.ConfigureResponse, error) {
	return &pulumirpc.ConfigureResponse{AcceptSecrets: false, SupportsPreview: true}, nil
}

// Check fills in the defaults, so that state always holds every input and Diff compares like
// with like, and validates what is known.
func (p *provider) Check(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	if err := checkType(req.GetType()); err != nil {
		return nil, err
	}
	news, err := unmarshal(req.GetNews())
	if err != nil {
		return nil, err
	}
	for _, k := range []resource.PropertyKey{"special", "upper", "lower"} {
		if _, ok := news[k]; !ok {
			news[k] = resource.NewProperty(true)
		}
	}
	for _, k := range []resource.PropertyKey{"minLower", "minNumeric", "minSpecial", "minUpper"} {
		if _, ok := news[k]; !ok {
			news[k] = resource.NewProperty(0.0)
		}
	}
	// "number" is the deprecated name of "numeric"; the two always hold the same value.
	numeric, hasNumeric := news["numeric"]
	number, hasNumber := news["number"]
	switch {
	case hasNumeric:
		news["number"] = numeric
	case hasNumber:
		news["numeric"] = number
	default:
		news["numeric"], news["number"] = resource.NewProperty(true), resource.NewProperty(true)
	}

	var failures []*pulumirpc.CheckFailure
	if _, ok := news["length"]; !ok {
		failures = append(failures, &pulumirpc.CheckFailure{Property: "length", Reason: "length is required"})
	} else if s, err := readSpec(news); err == nil {
		if s.length < 1 {
			failures = append(failures, &pulumirpc.CheckFailure{Property: "length", Reason: "length must be at least 1"})
		} else if s.length < s.minUpper+s.minLower+s.minNumeric+s.minSpecial {
			failures = append(failures, &pulumirpc.CheckFailure{
				Property: "length", Reason: "length must be at least the sum of the min* values",
			})
		} else if len(s.charset()) == 0 {
			failures = append(failures, &pulumirpc.CheckFailure{Reason: "every character class is disabled"})
		}
	} else if !news.ContainsUnknowns() {
		failures = append(failures, &pulumirpc.CheckFailure{Reason: err.Error()})
	}

	inputs, err := marshal(news)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.CheckResponse{Inputs: inputs, Failures: failures}, nil
}

// Diff replaces the resource when any input changed (the Terraform provider marks every input
// "requires replace"); the result is never regenerated otherwise.
func (p *provider) Diff(_ context.Context, req *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	olds, err := unmarshal(req.GetOlds())
	if err != nil {
		return nil, err
	}
	news, err := unmarshal(req.GetNews())
	if err != nil {
		return nil, err
	}
	var replaces []string
	for _, k := range inputKeys {
		o, n := olds[k], news[k]
		if n.ContainsUnknowns() || !o.DeepEquals(n) {
			replaces = append(replaces, string(k))
		}
	}
	if len(replaces) == 0 {
		return &pulumirpc.DiffResponse{Changes: pulumirpc.DiffResponse_DIFF_NONE}, nil
	}
	return &pulumirpc.DiffResponse{
		Changes: pulumirpc.DiffResponse_DIFF_SOME, Replaces: replaces, Diffs: replaces,
	}, nil
}

func (p *provider) Create(_ context.Context, req *pulumirpc.CreateRequest) (*pulumirpc.CreateResponse, error) {
	if err := checkType(req.GetType()); err != nil {
		return nil, err
	}
	props, err := unmarshal(req.GetProperties())
	if err != nil {
		return nil, err
	}
	isPassword := req.GetType() == passwordType
	if req.GetPreview() {
		props["result"] = resource.MakeComputed(resource.NewProperty(""))
		if isPassword {
			props["bcryptHash"] = resource.MakeComputed(resource.NewProperty(""))
		}
		out, err := marshal(props)
		return &pulumirpc.CreateResponse{Properties: out}, err
	}

	s, err := readSpec(props)
	if err != nil {
		return nil, err
	}
	result, err := s.generate()
	if err != nil {
		return nil, err
	}
	props["result"] = resource.NewProperty(result)
	// Like the Terraform provider: a password's ID is "none", a string's ID is the string.
	id := result
	if isPassword {
		hash, err := bcrypt.GenerateFromPassword([]byte(result), bcrypt.DefaultCost)
		if err != nil {
			return nil, err
		}
		props["bcryptHash"] = resource.NewProperty(string(hash))
		id = "none"
	}
	out, err := marshal(props)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.CreateResponse{Id: id, Properties: out}, nil
}

// Read (refresh) keeps what is in state: nothing outside the state can change a random value.
func (p *provider) Read(_ context.Context, req *pulumirpc.ReadRequest) (*pulumirpc.ReadResponse, error) {
	if err := checkType(req.GetType()); err != nil {
		return nil, err
	}
	props, err := unmarshal(req.GetProperties())
	if err != nil {
		return nil, err
	}
	if _, ok := props["result"]; !ok {
		return nil, status.Error(codes.Unimplemented, "importing random resources is not supported")
	}
	inputs := resource.PropertyMap{}
	for _, k := range inputKeys {
		if v, ok := props[k]; ok {
			inputs[k] = v
		}
	}
	out, err := marshal(props)
	if err != nil {
		return nil, err
	}
	in, err := marshal(inputs)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.ReadResponse{Id: req.GetId(), Properties: out, Inputs: in}, nil
}

func (p *provider) Delete(context.Context, *pulumirpc.DeleteRequest) (*pbempty.Empty, error) {
	return &pbempty.Empty{}, nil
}

func (p *provider) Cancel(context.Context, *pbempty.Empty) (*pbempty.Empty, error) {
	return &pbempty.Empty{}, nil
}

// spec is what the generator needs from the (checked) inputs.
type spec struct {
	length, minUpper, minLower, minNumeric, minSpecial int
	upper, lower, numeric, special                     bool
	overrideSpecial                                    string
	hasOverrideSpecial                                 bool
}

func readSpec(m resource.PropertyMap) (spec, error) {
	var s spec
	num := func(k resource.PropertyKey) (int, error) {
		v := m[k]
		if !v.IsNumber() {
			return 0, fmt.Errorf("%s must be a number", k)
		}
		return int(v.NumberValue()), nil
	}
	boolean := func(k resource.PropertyKey) (bool, error) {
		v := m[k]
		if !v.IsBool() {
			return false, fmt.Errorf("%s must be a boolean", k)
		}
		return v.BoolValue(), nil
	}
	var errs []error
	collectInt := func(dst *int, k resource.PropertyKey) {
		v, err := num(k)
		*dst = v
		errs = append(errs, err)
	}
	collectBool := func(dst *bool, k resource.PropertyKey) {
		v, err := boolean(k)
		*dst = v
		errs = append(errs, err)
	}
	collectInt(&s.length, "length")
	collectInt(&s.minUpper, "minUpper")
	collectInt(&s.minLower, "minLower")
	collectInt(&s.minNumeric, "minNumeric")
	collectInt(&s.minSpecial, "minSpecial")
	collectBool(&s.upper, "upper")
	collectBool(&s.lower, "lower")
	collectBool(&s.numeric, "numeric")
	collectBool(&s.special, "special")
	if v, ok := m["overrideSpecial"]; ok {
		if !v.IsString() {
			errs = append(errs, errors.New("overrideSpecial must be a string"))
		} else {
			s.overrideSpecial, s.hasOverrideSpecial = v.StringValue(), true
		}
	}
	return s, errors.Join(errs...)
}

func (s spec) specials() string {
	if s.hasOverrideSpecial {
		return s.overrideSpecial
	}
	return specialChars
}

func (s spec) charset() string {
	var set string
	for _, c := range []struct {
		on    bool
		chars string
	}{{s.upper, upperChars}, {s.lower, lowerChars}, {s.numeric, numericChars}, {s.special, s.specials()}} {
		if c.on {
			set += c.chars
		}
	}
	return set
}

// generate follows the Terraform provider: the min* characters of each class first, the rest
// from every enabled class, then a shuffle; all draws from crypto/rand.
func (s spec) generate() (string, error) {
	var out []byte
	for _, c := range []struct {
		min   int
		chars string
	}{{s.minUpper, upperChars}, {s.minLower, lowerChars}, {s.minNumeric, numericChars}, {s.minSpecial, s.specials()}} {
		for i := 0; i < c.min; i++ {
			b, err := pick(c.chars)
			if err != nil {
				return "", err
			}
			out = append(out, b)
		}
	}
	all := s.charset()
	for len(out) < s.length {
		b, err := pick(all)
		if err != nil {
			return "", err
		}
		out = append(out, b)
	}
	for i := len(out) - 1; i > 0; i-- {
		j, err := rand.Int(rand.Reader, big.NewInt(int64(i+1)))
		if err != nil {
			return "", err
		}
		out[i], out[j.Int64()] = out[j.Int64()], out[i]
	}
	return string(out), nil
}

func pick(chars string) (byte, error) {
	if chars == "" {
		return 0, errors.New("a required character class is empty")
	}
	n, err := rand.Int(rand.Reader, big.NewInt(int64(len(chars))))
	if err != nil {
		return 0, err
	}
	return chars[n.Int64()], nil
}
