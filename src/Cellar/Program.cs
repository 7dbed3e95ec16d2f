using Cellar.Cli;

return await CellarCli.RunAsync(args).ConfigureAwait(false);
