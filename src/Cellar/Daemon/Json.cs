using System.Reflection;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Http.Metadata;

namespace Cellar.Daemon;

/// <summary>
/// A JSON body with a status other than 200 (a failed run's 500, a daemon not ready's 503) that the OpenAPI document
/// lists: <see cref="JsonHttpResult{TValue}"/> takes its status only when it runs, and the document leaves it out.
/// </summary>
internal sealed class Json<TBody, TStatus>(TBody body, JsonTypeInfo<TBody> json) : IResult, IEndpointMetadataProvider
    where TStatus : IHttpStatus
{
    private readonly JsonHttpResult<TBody> _result = TypedResults.Json(body, json, statusCode: TStatus.Code);

    public Task ExecuteAsync(HttpContext httpContext) => _result.ExecuteAsync(httpContext);

    public static void PopulateMetadata(MethodInfo method, EndpointBuilder builder) =>
        builder.Metadata.Add(new ProducesResponseTypeMetadata(TStatus.Code, typeof(TBody), ["application/json"]));
}
