"""Requests/s, output tokens/s and J/request of a served model at several concurrencies.

Uses the same load runner as ``--energy-concurrency`` (slm_energy_plugin.roles.load_run): all
prompts sent with N in flight inside one window of the chosen meter; energy per request =
window energy / requests. Start the server first, e.g.

    transformers serve MODEL_DIR --continuous-batching --host 127.0.0.1 --port 8000 --device cpu
    .venv/bin/python benchmarks/perf/serving_load.py --base-url http://127.0.0.1:8000/v1 --model MODEL_DIR

The meter is the machine's (default codecarbon): with the server on loopback it covers client
and server together ("whole machine, includes the server"); on a machine without counters the
joules are CodeCarbon's estimate, and the output says so.
"""

from __future__ import annotations

import argparse
import sys

from slm_energy_plugin.backends.http_stream import Timeouts
from slm_energy_plugin.backends.openai_backend import OpenAIBackend
from slm_energy_plugin.backends.spec import ModelSpec
from slm_energy_plugin.energy import build_meter
from slm_energy_plugin.energy.units import J_PER_KWH
from slm_energy_plugin.backends.sampling import Sampling
from slm_energy_plugin.roles.load_run import run_concurrent
from slm_energy_plugin.workload.asks import Ask

PROMPTS = ["What is 7 + 5?", "What is 9 times 8?", "What is 100 minus 37?", "Name a prime number above 10.",
           "What is half of 64?", "How many legs has a spider?", "What is 3 squared?", "Count from 1 to 5."]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--concurrency", default="1,2,4,8")
    parser.add_argument("--requests", type=int, default=16)
    parser.add_argument("--max-tokens", type=int, default=16)
    parser.add_argument("--meter", default="codecarbon")
    parser.add_argument("--country", default="USA")
    args = parser.parse_args()
    spec = ModelSpec(alias="load", source="served", backend="openai", served_name=args.model,
                     base_url=args.base_url.rstrip("/"), prompt_style="chat")
    backend = OpenAIBackend(spec, Timeouts(read_s=300))
    meter = build_meter(args.meter, args.country)
    meter.warm_up()
    prompts = [PROMPTS[i % len(PROMPTS)] for i in range(args.requests)]
    backend.generate(prompts[0], args.max_tokens)   # warm the server
    print(f"server {args.base_url}, {args.requests} requests x {args.max_tokens} max tokens; meter "
          f"{meter.describe().get('name')} ({meter.describe().get('provenance', '?')})")
    print(f"{'concurrency':>11}{'window s':>10}{'requests/s':>12}{'out tok/s':>11}{'J/request':>11}{'errors':>8}")
    for level in [int(x) for x in args.concurrency.split(",")]:
        asks = [Ask(prompt, args.max_tokens, None, Sampling(), ()) for prompt in prompts]
        result = run_concurrent(backend, asks, level, meter)
        t = result.throughput
        reading = result.reading
        assert reading is not None
        joules = reading.total_kwh
        per_request = "-" if joules is None else f"{joules * J_PER_KWH / len(prompts):.2f}"
        print(f"{level:>11}{t.window_s:>10.2f}{t.requests_per_s or 0:>12.2f}{t.output_tokens_per_s or 0:>11.1f}"
              f"{per_request:>11}{t.errors:>8}")
        print(f"{'':>11}methods: {dict(reading.methods)}")
    meter.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
